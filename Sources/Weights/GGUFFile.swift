/// A GGUF file (v2 or v3; the format of candle's `model.q8.gguf`): metadata key-values, tensor
/// infos, then the aligned data section. Opening parses and checks the header; tensors are
/// views into the mapped file.
///
/// Checked: magic, version, counts against the file size, every metadata value (nested arrays
/// bounded), `general.alignment` (a power of two, default 32), each tensor's dims (at most 4),
/// type (F32, F16, BF16, Q8_0, Q4_0; others are refused by name), alignment and byte range
/// (inside the file, no overlaps), and for block types that a row holds whole blocks.
package final class GGUFFile: WeightStore {
    package static let defaultAlignment = 32

    package let source: any ByteSource
    package let version: UInt32
    /// Every metadata key-value, in file order.
    package let metadata: [GGUFKeyValue]
    /// `general.alignment`, or 32.
    package let alignment: Int
    /// Where the data section starts, counted from the start of the file.
    package let dataOffset: Int
    /// The tensor infos as stored (raw dims, innermost first).
    package let tensorInfos: [GGUFTensorInfo]
    /// Every tensor with its row-major shape, in file order.
    package let tensors: [WeightTensor]
    /// GGUF files carry no MLX layouts.
    package var mlxQuantization: MLXQuantization? { nil }
    private let index: [String: Int]

    package convenience init(path: String) throws(WeightFileError) {
        try self.init(source: MappedFile(path: path))
    }

    package init(source: any ByteSource) throws(WeightFileError) {
        self.source = source
        let file = source.name
        let total = source.bytes.count
        var parser = GGUFParser(bytes: source.bytes, file: file)
        let header = try parser.parse()
        version = header.version
        metadata = header.metadata
        tensorInfos = header.tensorInfos

        var alignment = Self.defaultAlignment
        if let value = header.metadata.first(where: { $0.key == "general.alignment" })?.value {
            guard let integer = value.integer else {
                throw WeightFileError(.format, file: file, "general.alignment is not an integer: \(value.summary())")
            }
            guard integer > 0, integer & (integer - 1) == 0, integer <= 1 << 30 else {
                throw WeightFileError(.format, file: file, "general.alignment is \(integer), which is not a power of two")
            }
            alignment = integer
        }
        self.alignment = alignment
        let dataOffset = (header.headerEnd + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        if !header.tensorInfos.isEmpty, dataOffset > total {
            throw WeightFileError(.truncated, file: file,
                "the data section would start at byte \(dataOffset), past the end of the file (\(total) bytes)")
        }

        var tensors: [WeightTensor] = []
        tensors.reserveCapacity(header.tensorInfos.count)
        for info in header.tensorInfos {
            tensors.append(try Self.check(info, dataOffset: dataOffset, alignment: alignment, source: source))
        }
        try checkNoOverlap(tensors, file: file)
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

    /// The metadata value under `key`, if any.
    package func value(forKey key: String) -> GGUFValue? {
        metadata.first { $0.key == key }?.value
    }

    private static func check(_ info: GGUFTensorInfo, dataOffset: Int, alignment: Int,
                              source: any ByteSource) throws(WeightFileError) -> WeightTensor {
        let file = source.name
        func fail(_ kind: WeightFileError.Kind, _ message: String) -> WeightFileError {
            WeightFileError(kind, file: file, tensor: info.name, message)
        }
        guard let dtype = info.type.dtype else {
            let supported = GGMLType.supported.map(\.name).joined(separator: ", ")
            throw fail(.unsupportedType, "has type \(info.type), which is not supported: supported are \(supported)")
        }
        guard let count = elementCount(of: info.dims) else {
            throw fail(.shape, "dims \(describe(shape: info.dims)) are too large: they multiply past 64 bits")
        }
        if dtype.isQuantized {
            let rowLength = info.dims.first ?? 1
            guard rowLength % dtype.blockLength == 0 else {
                throw fail(.shape, "row length ne[0] = \(rowLength) is not a multiple of the \(dtype) block length \(dtype.blockLength)")
            }
        }
        guard let byteCount = dtype.byteCount(elements: count) else {
            throw fail(.shape, "dims \(describe(shape: info.dims)) of \(dtype) take more bytes than fit in 64 bits")
        }
        guard info.offset % alignment == 0 else {
            throw fail(.offsets, "offset \(info.offset) is not a multiple of the alignment \(alignment)")
        }
        let (start, o1) = dataOffset.addingReportingOverflow(info.offset)
        let (end, o2) = start.addingReportingOverflow(byteCount)
        guard !o1, !o2, end <= source.bytes.count else {
            throw fail(.offsets, "data at offset \(info.offset) of the data section (\(byteCount) bytes) runs past the end of the file (\(source.bytes.count) bytes)")
        }
        return WeightTensor(name: info.name, dtype: dtype, shape: info.shape,
                            fileOffset: start, byteCount: byteCount, source: source)
    }
}
