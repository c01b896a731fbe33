/// A safetensors file (the format of the PyTorch, candle and MLX checkpoints): an 8-byte
/// little-endian header length N, N bytes of JSON naming each tensor's dtype, shape and byte
/// range, then the data. Opening parses and checks the header and nothing else; tensors are
/// views into the mapped file.
///
/// Checked: the header length (at most 100 MB and inside the file), the JSON (a strict parser
/// with a nesting limit), each dtype, each shape (non-negative, product without overflow),
/// each byte range (inside the data, of exactly shape x dtype bytes) and that no two overlap.
package final class SafetensorsFile: WeightStore {
    /// Headers longer than this are refused (real checkpoints have a few hundred KB).
    package static let maxHeaderLength = 100_000_000
    /// Shapes with more dimensions than this are refused.
    package static let maxRank = 16

    package let source: any ByteSource
    /// The `__metadata__` string map (`{"format": "pt"}` for PyTorch files); empty if absent.
    package let metadata: [String: String]
    /// Every tensor, in the order the header lists them.
    package let tensors: [WeightTensor]
    /// Where the data area starts: 8 + the header length.
    package let dataOffset: Int
    package let mlxQuantization: MLXQuantization?
    private let index: [String: Int]

    /// Maps and parses the file at `path`.
    package convenience init(path: String, mlxQuantization: MLXQuantization? = nil) throws(WeightFileError) {
        try self.init(source: MappedFile(path: path), mlxQuantization: mlxQuantization)
    }

    /// Parses bytes already in memory (a mapping or a copy).
    package init(source: any ByteSource, mlxQuantization: MLXQuantization? = nil) throws(WeightFileError) {
        self.source = source
        self.mlxQuantization = mlxQuantization
        let file = source.name
        let bytes = source.bytes
        guard bytes.count >= 8 else {
            throw WeightFileError(.truncated, file: file,
                "the file is \(bytes.count) bytes, shorter than the 8-byte header length that starts a safetensors file")
        }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(Self.maxHeaderLength) else {
            throw WeightFileError(.header, file: file,
                "header length \(headerLength) is larger than the limit of \(Self.maxHeaderLength) bytes (is this a safetensors file?)")
        }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw WeightFileError(.truncated, file: file,
                "header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        let dataOffset = 8 + Int(headerLength)
        var parser = SafetensorsHeaderParser(
            text: UnsafeRawBufferPointer(rebasing: bytes[8..<dataOffset]), file: file)
        let header = try parser.parse()

        let dataLength = bytes.count - dataOffset
        var tensors: [WeightTensor] = []
        tensors.reserveCapacity(header.entries.count)
        for entry in header.entries {
            tensors.append(try Self.check(entry, dataLength: dataLength, dataOffset: dataOffset, source: source))
        }
        try checkNoOverlap(tensors, file: file)

        self.dataOffset = dataOffset
        self.metadata = header.metadata
        self.tensors = tensors
        var index: [String: Int] = [:]
        index.reserveCapacity(tensors.count)
        for (position, tensor) in tensors.enumerated() { index[tensor.name] = position }
        self.index = index
    }

    package var sourceDescription: String { source.name }

    package func tensor(named name: String) -> WeightTensor? {
        index[name].map { tensors[$0] }
    }

    /// Checks one header entry against the data area and makes its tensor.
    private static func check(_ entry: SafetensorsHeaderParser.Entry, dataLength: Int, dataOffset: Int,
                              source: any ByteSource) throws(WeightFileError) -> WeightTensor {
        let file = source.name
        guard let dtype = TensorDType.safetensorsNames[entry.dtype] else {
            throw WeightFileError(.unsupportedType, file: file, tensor: entry.name,
                "dtype '\(entry.dtype)' is not supported (supported: F32, F16, BF16, I8, U8, I32, I64, U32)")
        }
        if let negative = entry.shape.first(where: { $0 < 0 }) {
            throw WeightFileError(.shape, file: file, tensor: entry.name,
                "shape \(describe(shape: entry.shape)) has a negative dimension \(negative)")
        }
        guard let count = elementCount(of: entry.shape), let expectedBytes = dtype.byteCount(elements: count) else {
            throw WeightFileError(.shape, file: file, tensor: entry.name,
                "shape \(describe(shape: entry.shape)) is too large: its element or byte count overflows 64 bits")
        }
        let (begin, end) = (entry.begin, entry.end)
        guard begin >= 0, end >= 0, begin <= end else {
            throw WeightFileError(.offsets, file: file, tensor: entry.name,
                "data_offsets [\(begin), \(end)] are not an ordered pair of non-negative offsets")
        }
        guard end <= dataLength else {
            throw WeightFileError(.offsets, file: file, tensor: entry.name,
                "data_offsets [\(begin), \(end)] run past the end of the data area (\(dataLength) bytes; the file is truncated or the offsets are wrong)")
        }
        guard end - begin == expectedBytes else {
            throw WeightFileError(.offsets, file: file, tensor: entry.name,
                "data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(describe(shape: entry.shape)) of \(dtype) needs \(expectedBytes)")
        }
        return WeightTensor(name: entry.name, dtype: dtype, shape: entry.shape,
                            fileOffset: dataOffset + begin, byteCount: expectedBytes, source: source)
    }
}
