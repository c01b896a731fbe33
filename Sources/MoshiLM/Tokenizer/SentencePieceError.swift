/// Why a SentencePiece model file could not be read: which file and what is wrong, in one line.
package struct SentencePieceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The broad class of the problem; the message has the detail.
    package enum Kind: Sendable, Equatable {
        /// The file could not be opened or read, is empty, or is too large to be a tokenizer.
        case io
        /// The protobuf ends in the middle of a field.
        case truncated
        /// The bytes are not a valid protobuf (bad varint, wire type or field number).
        case malformed
        /// The protobuf is valid but does not describe a usable SentencePiece model.
        case invalidModel
    }

    package let kind: Kind
    /// The file (or `<memory>` for bytes given directly).
    package let file: String
    /// What is wrong, in words.
    package let message: String

    package init(_ kind: Kind, file: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    package var description: String { "\(file): \(message)" }
}
