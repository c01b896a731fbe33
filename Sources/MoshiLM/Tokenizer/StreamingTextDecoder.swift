/// Turns Moshi's text stream, one token id per 80 ms step, into printable text as it arrives.
///
/// Each `push` returns the text that became printable with that id, so that the concatenation of
/// everything returned (plus `finish()`) is exactly `model.decode(allIDs)`: PAD (3) and EPAD (0)
/// are skipped, "▁" becomes a space, the very first piece loses its leading space, `<s>`/`</s>`
/// print nothing, and byte pieces are held back until they complete a UTF-8 character (a byte
/// that cannot is printed as U+FFFD).
package struct StreamingTextDecoder: Sendable {
    /// The ids Moshi's text stream uses for padding: EPAD 0 and PAD 3.
    package static let moshiSkippedIDs: Set<Int> = [0, 3]

    package let model: SentencePieceModel
    package let skippedIDs: Set<Int>

    private var pendingBytes: [UInt8] = []
    private var hasText = false
    private var droppedLeadingSpace = false
    private var atStart = true

    /// A decoder at the start of a transcript; ids in `skippedIDs` and ids outside the vocabulary
    /// (such as the LM's stream start token) produce nothing.
    package init(model: SentencePieceModel, skippedIDs: Set<Int> = StreamingTextDecoder.moshiSkippedIDs) {
        self.model = model
        self.skippedIDs = skippedIDs
    }

    /// Bytes of an unfinished UTF-8 character waiting for the rest.
    package var pendingByteCount: Int { pendingBytes.count }

    /// Feeds one id; returns the text it makes printable (often empty).
    package mutating func push(_ id: Int) -> String {
        guard !skippedIDs.contains(id), let piece = model.piece(for: id) else { return "" }
        var text = String.UnicodeScalarView()
        if let byte = piece.byteValue {
            pendingBytes.append(byte)
            drainBytes(final: false, into: &text)
        } else {
            drainBytes(final: true, into: &text)
            if droppedLeadingSpace || hasText || !text.isEmpty { atStart = false }
            let decoded = model.surface(of: piece, atStart: atStart)
            text.append(contentsOf: decoded.text.unicodeScalars)
            droppedLeadingSpace = decoded.droppedLeadingSpace
        }
        if !text.isEmpty { hasText = true }
        return String(text)
    }

    /// Ends the transcript: bytes of a character that never completed come out as U+FFFD each.
    package mutating func finish() -> String {
        var text = String.UnicodeScalarView()
        drainBytes(final: true, into: &text)
        if !text.isEmpty { hasText = true }
        return String(text)
    }

    /// Starts a new transcript (the next piece loses its leading space again); pending bytes are dropped.
    package mutating func reset() {
        pendingBytes.removeAll()
        hasText = false
        droppedLeadingSpace = false
        atStart = true
    }

    private mutating func drainBytes(final: Bool, into text: inout String.UnicodeScalarView) {
        let consumed = UTF8Step.drain(pendingBytes[...], final: final, into: &text)
        pendingBytes.removeFirst(consumed)
    }
}
