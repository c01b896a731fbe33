import Foundation

/// A SentencePiece model as read from its `.model` file (a serialized `sentencepiece.ModelProto`),
/// reduced to what decoding needs: every piece by id with its score and type, and the
/// normalizer flags that decide how a leading "▁" is treated.
///
/// Moshi's text tokenizer is Kyutai's `tokenizer_spm_32k_3.model` (32,000 pieces; ids 0, 1, 2, 3
/// are `<unk>`, `<s>`, `</s>`, `<pad>`). Only decoding is supported; encoding text is not needed
/// to run Moshi.
package struct SentencePieceModel: Sendable {
    /// The type of a piece (`SentencePiece.Type` in the protobuf).
    package enum PieceType: Int, Sendable {
        case normal = 1
        case unknown = 2
        case control = 3
        case userDefined = 4
        case unused = 5
        case byte = 6
    }

    /// One vocabulary entry.
    package struct Piece: Sendable, Equatable {
        /// The piece as stored, with U+2581 "▁" where the text has a space.
        package let text: String
        package let score: Float
        package let type: PieceType
        /// For a byte piece `<0xNN>`, the byte NN; nil for every other piece.
        package let byteValue: UInt8?
    }

    /// The largest `.model` file accepted (Kyutai's is 553 kB).
    package static let maximumFileSize = 64 << 20

    /// The default text of an unknown piece in decoded text (SentencePiece's " ⁇ ").
    package static let defaultUnknownSurface = " \u{2047} "

    /// Every piece, indexed by id.
    package let pieces: [Piece]
    /// `normalizer_spec.add_dummy_prefix` (default true): a leading "▁" is dropped when decoding.
    package let addDummyPrefix: Bool
    /// `normalizer_spec.remove_extra_whitespaces` (default true): all leading "▁" pieces are dropped.
    package let removeExtraWhitespaces: Bool
    /// What an `<unk>` piece decodes to (`trainer_spec.unk_surface`, default " ⁇ ").
    package let unknownSurface: String

    /// The vocabulary size.
    package var count: Int { pieces.count }

    /// The piece with this id, or nil when the id is outside the vocabulary.
    package func piece(for id: Int) -> Piece? {
        pieces.indices.contains(id) ? pieces[id] : nil
    }

    /// Reads and checks a `.model` file; errors name the file.
    package init(path: String) throws(SentencePieceError) {
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let type = attributes[.type] as? FileAttributeType, type != .typeRegular {
                throw SentencePieceError(.io, file: path, "not a regular file")
            }
            if let size = attributes[.size] as? Int, size > Self.maximumFileSize {
                throw SentencePieceError(.io, file: path,
                    "\(size) bytes is too large for a SentencePiece model (limit \(Self.maximumFileSize))")
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as SentencePieceError {
            throw error
        } catch {
            throw SentencePieceError(.io, file: path, "cannot read the file: \(error.localizedDescription)")
        }
        try self.init(data: data, name: path)
    }

    /// Parses a serialized `ModelProto`; `name` is what errors call the bytes.
    package init(data: Data, name: String = "<memory>") throws(SentencePieceError) {
        guard !data.isEmpty else {
            throw SentencePieceError(.io, file: name, "empty file, not a SentencePiece model")
        }
        guard data.count <= Self.maximumFileSize else {
            throw SentencePieceError(.io, file: name,
                "\(data.count) bytes is too large for a SentencePiece model (limit \(Self.maximumFileSize))")
        }
        let bytes = [UInt8](data)
        var reader = ProtobufReader(bytes, file: name)
        var pieces: [Piece] = []
        var addDummyPrefix = true
        var removeExtraWhitespaces = true
        var unknownSurface = Self.defaultUnknownSurface
        var seenBytes: [UInt8: Int] = [:]

        while let field = try reader.nextField() {
            switch (field.number, field.wireType) {
            case (1, .lengthDelimited):  // repeated SentencePiece pieces
                let range = try reader.readLengthDelimited()
                let piece = try Self.parsePiece(reader.subReader(range), id: pieces.count, file: name)
                if let value = piece.byteValue {
                    if let first = seenBytes[value] {
                        throw SentencePieceError(.invalidModel, file: name,
                            "pieces \(first) and \(pieces.count) are both the byte piece '\(piece.text)'")
                    }
                    seenBytes[value] = pieces.count
                }
                pieces.append(piece)
            case (2, .lengthDelimited):  // TrainerSpec
                var trainer = reader.subReader(try reader.readLengthDelimited())
                while let inner = try trainer.nextField() {
                    if inner.number == 44, inner.wireType == .lengthDelimited {
                        unknownSurface = try Self.string(trainer.slice(trainer.readLengthDelimited()),
                                                         what: "trainer_spec.unk_surface", file: name)
                    } else {
                        try trainer.skip(inner.wireType)
                    }
                }
            case (3, .lengthDelimited):  // NormalizerSpec
                var normalizer = reader.subReader(try reader.readLengthDelimited())
                while let inner = try normalizer.nextField() {
                    switch (inner.number, inner.wireType) {
                    case (3, .varint): addDummyPrefix = try normalizer.readVarint() != 0
                    case (4, .varint): removeExtraWhitespaces = try normalizer.readVarint() != 0
                    default: try normalizer.skip(inner.wireType)
                    }
                }
            case (1, _), (2, _), (3, _):
                throw SentencePieceError(.malformed, file: name,
                    "ModelProto field \(field.number) has wire type \(field.wireType.rawValue), expected a length-delimited message")
            default:  // self_test_data, denormalizer_spec, extensions
                try reader.skip(field.wireType)
            }
        }
        guard !pieces.isEmpty else {
            throw SentencePieceError(.invalidModel, file: name, "no pieces: not a SentencePiece model")
        }
        self.pieces = pieces
        self.addDummyPrefix = addDummyPrefix
        self.removeExtraWhitespaces = removeExtraWhitespaces
        self.unknownSurface = unknownSurface
    }

    /// One `SentencePiece` message: 1 piece (string), 2 score (float), 3 type (enum, default NORMAL).
    private static func parsePiece(_ message: ProtobufReader, id: Int, file: String) throws(SentencePieceError) -> Piece {
        var reader = message
        var text: String?
        var score: Float = 0
        var typeValue: UInt64 = 1
        while let field = try reader.nextField() {
            switch (field.number, field.wireType) {
            case (1, .lengthDelimited):
                text = try string(reader.slice(reader.readLengthDelimited()), what: "piece \(id)", file: file)
            case (2, .fixed32):
                score = Float(bitPattern: try reader.readFixed32())
            case (3, .varint):
                typeValue = try reader.readVarint()
            default:
                try reader.skip(field.wireType)
            }
        }
        guard let text, !text.isEmpty else {
            throw SentencePieceError(.invalidModel, file: file, "piece \(id) has no text")
        }
        guard typeValue <= 6, let type = PieceType(rawValue: Int(typeValue)) else {
            throw SentencePieceError(.invalidModel, file: file, "piece \(id) ('\(text)') has unknown type \(typeValue)")
        }
        var value: UInt8?
        if type == .byte {
            value = Self.byteValue(ofPiece: text)
            guard value != nil else {
                throw SentencePieceError(.invalidModel, file: file, "byte piece \(id) is '\(text)', expected <0xNN>")
            }
        }
        return Piece(text: text, score: score, type: type, byteValue: value)
    }

    /// NN of a piece spelled exactly `<0xNN>` (two upper-case hex digits), as SentencePiece writes them.
    static func byteValue(ofPiece text: String) -> UInt8? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 6, utf8[0] == UInt8(ascii: "<"), utf8[1] == UInt8(ascii: "0"),
              utf8[2] == UInt8(ascii: "x"), utf8[5] == UInt8(ascii: ">") else { return nil }
        func digit(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        guard let high = digit(utf8[3]), let low = digit(utf8[4]) else { return nil }
        return high << 4 | low
    }

    private static func string(_ bytes: ArraySlice<UInt8>, what: String, file: String) throws(SentencePieceError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SentencePieceError(.invalidModel, file: file, "\(what) is not valid UTF-8")
        }
        return text
    }
}
