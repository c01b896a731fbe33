/// One tensor info of a GGUF file as stored: name, dims innermost first (`ne[0]` is the row
/// length), ggml type and offset into the data section.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml's `ne`: `dims[0]` is the innermost (contiguous) dimension.
    public let dims: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the data section (a multiple of the alignment).
    public let offset: Int

    /// The row-major shape, outermost first: `[ne[n-1], ..., ne[0]]`.
    public var shape: [Int] { dims.reversed() }
}

/// One metadata key-value pair of a GGUF file.
public struct GGUFKeyValue: Sendable, Equatable {
    public let key: String
    public let value: GGUFValue
}
