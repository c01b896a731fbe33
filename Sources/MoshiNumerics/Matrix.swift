/// A dense row-major f32 matrix `[rows, cols]` viewing memory owned elsewhere (a `FloatBuffer`,
/// a memory-mapped f32 tensor). Rows are `rowStride` floats apart.
public struct Matrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let rowStride: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(rows: Int, cols: Int, rowStride: Int? = nil, pointer: UnsafeMutablePointer<Float>) {
        self.rows = rows
        self.cols = cols
        self.rowStride = rowStride ?? cols
        self.pointer = pointer
    }

    /// A view of read-only memory (an f32 tensor in a weight file mapped read-only): writing
    /// through it is a programming error and faults.
    public init(rows: Int, cols: Int, rowStride: Int? = nil, readOnly pointer: UnsafePointer<Float>) {
        self.init(rows: rows, cols: cols, rowStride: rowStride, pointer: UnsafeMutablePointer(mutating: pointer))
    }

    public init(rows: Int, cols: Int, buffer: FloatBuffer) {
        precondition(rows * cols <= buffer.count, "Matrix [\(rows), \(cols)] does not fit a buffer of \(buffer.count)")
        self.init(rows: rows, cols: cols, pointer: buffer.pointer)
    }

    public func row(_ r: Int) -> UnsafeMutablePointer<Float> { pointer + r * rowStride }

    public subscript(r: Int, c: Int) -> Float {
        get { pointer[r * rowStride + c] }
        nonmutating set { pointer[r * rowStride + c] = newValue }
    }
}
