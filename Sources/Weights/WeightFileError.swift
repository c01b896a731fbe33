/// Why a weight file could not be read or a tensor could not be used: which file, which
/// tensor (when there is one) and what is wrong. Every failure of this module is one of these,
/// so a caller (and `moshi inspect`) can print one clear line.
package struct WeightFileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The broad class of the problem, for callers that branch on it; the message has the detail.
    package enum Kind: Sendable, Equatable {
        /// open, fstat or mmap failed, or the file is empty or not a regular file.
        case io
        /// The file ends before a structure it announces.
        case truncated
        /// The safetensors header (length, JSON, field types) is malformed.
        case header
        /// A safetensors dtype or GGUF tensor type this reader does not support.
        case unsupportedType
        /// A shape that is negative, too large, of the wrong rank or inconsistent.
        case shape
        /// A tensor's byte range is outside the data, misaligned, or does not match its shape.
        case offsets
        /// Two tensors share bytes.
        case overlap
        /// GGUF: bad magic, unsupported version, impossible counts, bad alignment, bad value.
        case format
        /// A tensor a model asked for does not exist.
        case missingTensor
        /// A tensor exists but not with the shape or type a model asked for.
        case mismatch
    }

    package let kind: Kind
    /// The file (or files, joined with " + ") the problem is in.
    package let file: String
    /// The tensor the problem is about, when there is one.
    package let tensor: String?
    /// What is wrong, in words.
    package let message: String

    package init(_ kind: Kind, file: String, tensor: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.tensor = tensor
        self.message = message
    }

    package var description: String {
        if let tensor { return "\(file): tensor '\(tensor)': \(message)" }
        return "\(file): \(message)"
    }
}
