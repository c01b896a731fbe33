import Foundation
import Testing
@testable import MoshiLM

/// The SentencePiece reader and the text-stream decoder against `tokenizer_small.model` and the
/// reference's own decodes of it (`tokenizer_small_expected.json`, from sentencepiece 0.2.3).
@Suite struct TokenizerTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let modelPath = fixtures.appendingPathComponent("tokenizer_small.model").path

    struct Sequence {
        let name: String
        let ids: [Int]
        let pieces: [String]
        let pieceText: String
        let decoded: String
    }

    struct Expected {
        let pieces: [String]
        let firstByteID: Int
        let lastByteID: Int
        let byteCount: Int
        let sequences: [Sequence]
    }

    static func expected() throws -> Expected {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("tokenizer_small_expected.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let pieces = try #require(root["pieces"] as? [String])
        let bytes = try #require(root["byte_piece_ids"] as? [String: Int])
        let sequences = try #require(root["sequences"] as? [String: [String: Any]])
        let parsed = try sequences.keys.sorted().map { name -> Sequence in
            let entry = try #require(sequences[name])
            return Sequence(
                name: name,
                ids: try #require(entry["ids"] as? [Int]),
                pieces: try #require(entry["pieces"] as? [String]),
                pieceText: try #require(entry["piece_text"] as? String),
                decoded: try #require(entry["decoded"] as? String))
        }
        return Expected(pieces: pieces, firstByteID: try #require(bytes["first"]), lastByteID: try #require(bytes["last"]),
                        byteCount: try #require(bytes["count"]), sequences: parsed)
    }

    // MARK: Reading the model

    @Test func readsEveryPieceOfTheFixture() throws {
        let model = try SentencePieceModel(path: Self.modelPath)
        let expected = try Self.expected()
        #expect(model.count == 320)
        let texts: [String] = model.pieces.map(\.text)
        #expect(texts == expected.pieces)
        #expect(model.piece(for: 320) == nil)
        #expect(model.piece(for: -1) == nil)
        #expect(model.piece(for: 0)?.type == .unknown)
        #expect(model.piece(for: 1)?.type == .control)
        #expect(model.piece(for: 2)?.type == .control)
        #expect(model.piece(for: 3)?.type == .control)
        #expect(model.piece(for: 260)?.type == .normal)
        // Score of piece 260 ("▁"), read from the file independently: -2.0468004.
        let score = try #require(model.piece(for: 260)?.score)
        #expect(abs(score - -2.0468004) < 1e-6)
        #expect(model.addDummyPrefix)
        #expect(model.removeExtraWhitespaces)
        #expect(model.unknownSurface == " \u{2047} ")
    }

    @Test func bytePiecesAreExactlyTheExpectedIDs() throws {
        let model = try SentencePieceModel(path: Self.modelPath)
        let expected = try Self.expected()
        let byteIDs: [Int] = model.pieces.indices.filter { model.pieces[$0].type == .byte }
        #expect(byteIDs == Array(expected.firstByteID...expected.lastByteID))
        #expect(byteIDs.count == expected.byteCount)
        for id in byteIDs {
            let value = try #require(model.pieces[id].byteValue)
            #expect(Int(value) == id - expected.firstByteID)
        }
        let others = model.pieces.filter { $0.type != .byte && $0.byteValue != nil }
        #expect(others.isEmpty)
    }

    @Test func dataInitializerMatchesPathInitializer() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.modelPath))
        let fromData = try SentencePieceModel(data: data)
        let fromPath = try SentencePieceModel(path: Self.modelPath)
        #expect(fromData.pieces == fromPath.pieces)
    }

    // MARK: Decoding

    @Test func oneShotDecodeMatchesSentencePiece() throws {
        let model = try SentencePieceModel(path: Self.modelPath)
        let expected = try Self.expected()
        #expect(expected.sequences.count == 7)
        for sequence in expected.sequences {
            let pieces: [String] = sequence.ids.map { model.piece(for: $0)?.text ?? "?" }
            #expect(pieces == sequence.pieces, "\(sequence.name)")
            #expect(model.decode(sequence.ids) == sequence.decoded, "\(sequence.name)")
        }
    }

    @Test func pieceTextMatchesWhatThePythonServerPrints() throws {
        let model = try SentencePieceModel(path: Self.modelPath)
        for sequence in try Self.expected().sequences {
            #expect(model.pieceText(sequence.ids) == sequence.pieceText, "\(sequence.name)")
        }
        #expect(model.pieceText(for: 273) == "the")
        #expect(model.pieceText(for: 286) == " t")
        #expect(model.pieceText(for: 230) == "<0xE2>")
        #expect(model.pieceText(for: 9999) == nil)
    }

    @Test func streamingEqualsOneShot() throws {
        let model = try SentencePieceModel(path: Self.modelPath)
        for sequence in try Self.expected().sequences {
            var decoder = StreamingTextDecoder(model: model)
            var text = ""
            for id in sequence.ids { text += decoder.push(id) }
            text += decoder.finish()
            #expect(text == sequence.decoded, "\(sequence.name)")
        }
    }

    @Test func streamingHoldsBytesUntilTheCharacterIsComplete() throws {
        let model = try SentencePieceModel(path: Self.modelPath)
        var decoder = StreamingTextDecoder(model: model)
        // PAD, then the three bytes of "€" (E2 82 AC = ids 230, 134, 176), then "▁t", "o".
        let outputs: [String] = [3, 230, 134, 176, 286, 264].map { decoder.push($0) }
        #expect(outputs == ["", "", "", "€", " t", "o"])
        #expect(decoder.pendingByteCount == 0)
    }

    @Test func leadingSpacesFollowSentencePiece() throws {
        let model = try SentencePieceModel(path: Self.modelPath)
        var decoder = StreamingTextDecoder(model: model)
        // "▁W" "e" "▁t": the transcript starts "We t", not " We t".
        let first: [String] = [3, 291, 261, 286].map { decoder.push($0) }
        #expect(first == ["", "W", "e", " t"])
        // After a reset the next transcript starts without a space again.
        decoder.reset()
        #expect(decoder.push(286) == "t")
        #expect(decoder.push(286) == " t")
        // This model keeps remove_extra_whitespaces (the default), so every "▁" before the first
        // visible character goes; a space from a byte piece is text and stays. The expected strings
        // are what sentencepiece 0.2.3 decodes for these ids.
        let cases: [(ids: [Int], text: String)] = [
            ([260, 286], "t"), ([260, 260, 286], "t"), ([1, 2, 286], "t"), ([4 + 0x20, 286], "  t"),
            ([4 + 0x41, 260, 286], "A  t"),
        ]
        for (ids, text) in cases {
            #expect(model.decode(ids) == text, "\(ids)")
            var streaming = StreamingTextDecoder(model: model)
            #expect(ids.map { streaming.push($0) }.joined() + streaming.finish() == text, "streamed \(ids)")
        }
    }

    @Test func invalidAndUnfinishedBytesBecomeReplacementCharacters() throws {
        let model = try SentencePieceModel(path: Self.modelPath)
        let byte = { (value: Int) in 4 + value }
        let cases: [(ids: [Int], text: String)] = [
            ([byte(0xE2), byte(0x82), 261], "\u{FFFD}\u{FFFD}e"),  // cut short by a piece
            ([261, byte(0xE2), byte(0x82)], "e\u{FFFD}\u{FFFD}"),  // cut short by the end
            ([byte(0xFF), byte(0x41)], "\u{FFFD}A"),               // 0xFF never starts a character
            ([byte(0xC0), byte(0x80)], "\u{FFFD}\u{FFFD}"),         // overlong NUL
            ([byte(0xED), byte(0xA0), byte(0x80)], "\u{FFFD}\u{FFFD}\u{FFFD}"),  // surrogate D800
            ([byte(0xF0), byte(0x9F), byte(0x98), byte(0x80)], "😀"),
            ([byte(0xC3), 3, 0, byte(0xBC)], "ü"),                  // PAD/EPAD between bytes are skipped
        ]
        // Without PAD/EPAD, each expected string is what sentencepiece 0.2.3 decodes for the ids.
        for (ids, text) in cases {
            #expect(model.decode(ids) == text, "\(ids)")
            var decoder = StreamingTextDecoder(model: model)
            let streamed = ids.map { decoder.push($0) }.joined() + decoder.finish()
            #expect(streamed == text, "streamed \(ids)")
        }
    }

    @Test func idsOutsideTheVocabularyAreIgnored() throws {
        let model = try SentencePieceModel(path: Self.modelPath)
        #expect(model.decode([320, 273, -5, 267]) == "the s")
        var decoder = StreamingTextDecoder(model: model)
        #expect(decoder.push(320) == "")
        #expect(decoder.push(273) == "the")
        // Without the Moshi skip list, <unk> decodes as SentencePiece's " ⁇ ".
        #expect(model.decode([273, 0], skipping: []) == "the \u{2047} ")
    }

    // MARK: Bad input

    @Test func everyTruncationIsAnErrorOrAShorterModelNeverACrash() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.modelPath))
        let full = try SentencePieceModel(data: data)
        var failures = 0
        for length in 0..<data.count {
            do {
                let model = try SentencePieceModel(data: data.prefix(length))
                // A cut between two whole fields is still a valid protobuf: fewer pieces, same order.
                #expect(Array(full.pieces.prefix(model.count)) == model.pieces)
            } catch {
                failures += 1
            }
        }
        // Only cuts at the 320 piece boundaries and after the trainer spec can parse.
        #expect(failures >= data.count - 322)
        for length in [1, 2, data.count / 2, data.count - 1] {
            #expect(throws: SentencePieceError.self) { try SentencePieceModel(data: data.prefix(length)) }
        }
        do {
            _ = try SentencePieceModel(data: data.prefix(data.count - 1), name: "cut.model")
            Issue.record("a file missing its last byte parsed")
        } catch {
            #expect(error.kind == .truncated)
            #expect(error.description.hasPrefix("cut.model: "))
        }
    }

    @Test func emptyGarbageAndMissingFilesAreErrors() throws {
        do {
            _ = try SentencePieceModel(data: Data(), name: "empty.model")
            Issue.record("empty data parsed")
        } catch {
            #expect(error.kind == .io)
            #expect(error.description == "empty.model: empty file, not a SentencePiece model")
        }
        // Eleven 0xFF bytes: a varint longer than 10 bytes.
        #expect(throws: SentencePieceError.self) { try SentencePieceModel(data: Data(repeating: 0xFF, count: 11)) }
        // Wire type 3 (a group) is rejected.
        #expect(throws: SentencePieceError.self) { try SentencePieceModel(data: Data([0x0B, 0x0C])) }
        // Field number 0.
        #expect(throws: SentencePieceError.self) { try SentencePieceModel(data: Data([0x00, 0x01])) }
        // A valid protobuf with no pieces.
        #expect(throws: SentencePieceError.self) { try SentencePieceModel(data: Data([0x28, 0x01])) }
        // Seeded garbage.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<200 {
            let garbage = Data((0..<64).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 56)
            })
            _ = try? SentencePieceModel(data: garbage)  // must return or throw, never trap
        }
        let missing = "/nonexistent/tokenizer_spm_32k_3.model"
        do {
            _ = try SentencePieceModel(path: missing)
            Issue.record("a missing file parsed")
        } catch {
            #expect(error.kind == .io)
            #expect(error.description.hasPrefix(missing + ": "))
        }
        #expect(throws: SentencePieceError.self) { try SentencePieceModel(path: Self.fixtures.path) }
    }

    @Test func piecesWithBadTypesOrBytesAreRejected() throws {
        // ModelProto { pieces { piece: "<0xZZ>" type: BYTE } }
        func model(piece: String, type: UInt8) -> Data {
            let text = Array(piece.utf8)
            let inner: [UInt8] = [0x0A, UInt8(text.count)] + text + [0x18, type]
            return Data([0x0A, UInt8(inner.count)] + inner)
        }
        #expect(try SentencePieceModel(data: model(piece: "<0x41>", type: 6)).pieces[0].byteValue == 0x41)
        #expect(throws: SentencePieceError.self) { try SentencePieceModel(data: model(piece: "<0xZZ>", type: 6)) }
        #expect(throws: SentencePieceError.self) { try SentencePieceModel(data: model(piece: "<0x4a>", type: 6)) }
        #expect(throws: SentencePieceError.self) { try SentencePieceModel(data: model(piece: "abc", type: 9)) }
        #expect(try SentencePieceModel(data: model(piece: "abc", type: 1)).pieces[0].type == .normal)
        // Invalid UTF-8 in a piece.
        let bad = Data([0x0A, 0x04, 0x0A, 0x02, 0xC3, 0x28])
        #expect(throws: SentencePieceError.self) { try SentencePieceModel(data: bad) }
    }
}
