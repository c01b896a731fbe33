/// Turning ids back into text, the way SentencePiece's `Decode` does it, and the simpler
/// per-piece text that Kyutai's Python server and client print.
extension SentencePieceModel {
    /// U+2581 "▁", SentencePiece's stand-in for a space.
    static let spaceSymbol: Character = "\u{2581}"

    /// The decoded text of one non-byte piece, and whether it consumed the leading "▁" that
    /// SentencePiece drops at the start of a text (`add_dummy_prefix`).
    ///
    /// `atStart` says whether a leading "▁" may still be dropped: true until the text is non-empty
    /// or a piece has already given up its leading "▁".
    func surface(of piece: Piece, atStart: Bool) -> (text: String, droppedLeadingSpace: Bool) {
        switch piece.type {
        case .control: return ("", false)
        case .unknown: return (unknownSurface, false)
        case .normal, .userDefined, .unused, .byte: break
        }
        var text = Substring(piece.text)
        var dropped = false
        if atStart, addDummyPrefix || removeExtraWhitespaces, text.first == Self.spaceSymbol {
            text = text.dropFirst()
            // With remove_extra_whitespaces every leading "▁" goes, so the next piece may drop one too.
            dropped = !removeExtraWhitespaces
        }
        return (String(text).replacingSpaceSymbols(), dropped)
    }

    /// The text of `ids`, as SentencePiece decodes them once the `skipping` ids (Moshi's PAD 3
    /// and EPAD 0 by default) are removed: byte pieces joined into UTF-8 (U+FFFD for each byte that
    /// does not form a valid character), "▁" turned into spaces, the leading space of the text
    /// dropped, `<s>` and `</s>` giving nothing. Ids outside the vocabulary (such as the LM's
    /// stream start token, id 32000 for a 32,000-piece vocabulary) are skipped too.
    package func decode(_ ids: [Int], skipping: Set<Int> = StreamingTextDecoder.moshiSkippedIDs) -> String {
        var text = String.UnicodeScalarView()
        var byteRun: [UInt8] = []
        var atStart = true
        var droppedLeadingSpace = false
        for id in ids where !skipping.contains(id) {
            guard let piece = piece(for: id) else { continue }
            if let byte = piece.byteValue {
                byteRun.append(byte)
                continue
            }
            _ = UTF8Step.drain(byteRun[...], final: true, into: &text)
            byteRun.removeAll(keepingCapacity: true)
            if droppedLeadingSpace || !text.isEmpty { atStart = false }
            let decoded = surface(of: piece, atStart: atStart)
            text.append(contentsOf: decoded.text.unicodeScalars)
            droppedLeadingSpace = decoded.droppedLeadingSpace
        }
        _ = UTF8Step.drain(byteRun[...], final: true, into: &text)
        return String(text)
    }

    /// What Kyutai's Python server and client print for one id: the piece with "▁" replaced by a
    /// space (byte pieces stay literal, e.g. `<0xE2>`); nil for ids outside the vocabulary.
    package func pieceText(for id: Int) -> String? {
        piece(for: id)?.text.replacingSpaceSymbols()
    }

    /// The concatenated `pieceText(for:)` of `ids`, without the `skipping` ids (PAD 3 and EPAD 0
    /// by default) and ids outside the vocabulary.
    package func pieceText(_ ids: [Int], skipping: Set<Int> = StreamingTextDecoder.moshiSkippedIDs) -> String {
        ids.lazy.filter { !skipping.contains($0) }.compactMap { pieceText(for: $0) }.joined()
    }
}

extension String {
    /// "▁" (U+2581) replaced by " ".
    func replacingSpaceSymbols() -> String {
        guard contains(SentencePieceModel.spaceSymbol) else { return self }
        return String(map { $0 == SentencePieceModel.spaceSymbol ? " " : $0 })
    }
}
