/// Writes safetensors files (for test models and converted checkpoints): the header lists the
/// tensors in the order they were added, packed back to back as the format requires, and is
/// padded with spaces to a multiple of 8 bytes so the data area starts 8-byte aligned.
package struct SafetensorsWriter {
    package var metadata: [String: String]
    private var entries: [(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8])] = []

    package init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a tensor from its stored bytes, which must be exactly shape x dtype long.
    package mutating func add(_ name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8]) {
        precondition(TensorDType.safetensorsNames[dtype.description] == dtype, "\(dtype) cannot be stored in safetensors")
        precondition(elementCount(of: shape).flatMap(dtype.byteCount(elements:)) == bytes.count,
                     "\(name): \(bytes.count) bytes do not match shape \(describe(shape: shape)) of \(dtype)")
        entries.append((name, dtype, shape, bytes))
    }

    /// Adds a float tensor stored as F32, F16 or BF16.
    package mutating func add(_ name: String, shape: [Int], floats: [Float], as dtype: TensorDType = .f32) {
        precondition(dtype.isFloat, "\(dtype) is not a float dtype")
        add(name, dtype: dtype, shape: shape, bytes: TensorEncoding.bytes(of: floats, as: dtype)!)
    }

    /// The whole file.
    package func serialized() -> [UInt8] {
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { jsonQuoted($0.key) + ":" + jsonQuoted($0.value) }
            fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for entry in entries {
            let shape = entry.shape.map(String.init).joined(separator: ",")
            fields.append(jsonQuoted(entry.name)
                + ":{\"dtype\":\"\(entry.dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + entry.bytes.count)]}")
            offset += entry.bytes.count
        }
        var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        appendLittleEndian(UInt64(header.count), to: &out)
        out += header
        for entry in entries { out += entry.bytes }
        return out
    }

    package func write(to path: String) throws(WeightFileError) {
        try writeFile(serialized(), to: path)
    }
}
