/// One tensor info of a GGUF file as stored: name, dims innermost first (`ne[0]` is the row
/// length), ggml type and offset into the data section.
package struct GGUFTensorInfo: Sendable, Equatable {
    package let name: String
    /// ggml's `ne`: `dims[0]` is the innermost (contiguous) dimension.
    package let dims: [Int]
    package let type: GGMLType
    /// Offset of the data from the start of the data section (a multiple of the alignment).
    package let offset: Int

    /// The row-major shape, outermost first: `[ne[n-1], ..., ne[0]]`.
    package var shape: [Int] { dims.reversed() }
}

/// One metadata key-value pair of a GGUF file.
package struct GGUFKeyValue: Sendable, Equatable {
    package let key: String
    package let value: GGUFValue
}
