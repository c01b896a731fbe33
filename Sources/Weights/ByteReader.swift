/// A bounds-checked little-endian cursor over a byte buffer, for the binary parts of weight
/// files. Every read checks the remaining length first; running out is a `.truncated` error
/// that says what was being read and at which byte.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    private(set) var position: Int = 0

    init(_ bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    var remaining: Int { bytes.count - position }

    /// Fails unless `count` more bytes exist; `what` names the field for the error.
    func need(_ count: Int, for what: @autoclosure () -> String) throws(WeightFileError) {
        guard count >= 0, count <= remaining else {
            throw WeightFileError(.truncated, file: file,
                "\(what()) at byte \(position) needs \(count) bytes but the file has \(remaining) left (file size \(bytes.count))")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(WeightFileError) -> T {
        try need(MemoryLayout<T>.size, for: what())
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += MemoryLayout<T>.size
        return value
    }

    /// Reads `count` raw bytes and returns a view of them.
    mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws(WeightFileError) -> UnsafeRawBufferPointer {
        try need(count, for: what())
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
        position += count
        return slice
    }

    mutating func skip(to offset: Int) { position = offset }
}
