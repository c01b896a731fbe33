/// Writes GGUF v3 files (for test models and converted checkpoints): metadata in the order set,
/// tensor infos, then each tensor's data at the next multiple of the alignment.
package struct GGUFWriter {
    package var alignment: Int
    private var metadata: [GGUFKeyValue] = []
    private var entries: [(name: String, type: GGMLType, shape: [Int], bytes: [UInt8])] = []

    /// `alignment` other than 32 is also written as `general.alignment`.
    package init(alignment: Int = GGUFFile.defaultAlignment) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        self.alignment = alignment
        if alignment != GGUFFile.defaultAlignment { set("general.alignment", .uint32(UInt32(alignment))) }
    }

    /// Sets a metadata value (replacing an earlier one of the same key).
    package mutating func set(_ key: String, _ value: GGUFValue) {
        metadata.removeAll { $0.key == key }
        metadata.append(GGUFKeyValue(key: key, value: value))
    }

    /// Adds a tensor of row-major `shape` (written as GGUF dims, innermost first) from its bytes.
    package mutating func add(_ name: String, type: GGMLType, shape: [Int], bytes: [UInt8]) {
        entries.append((name, type, shape, bytes))
    }

    /// Adds float values stored as F32, F16, BF16, Q8_0 or Q4_0 (quantized here).
    package mutating func add(_ name: String, shape: [Int], floats: [Float], as dtype: TensorDType = .f32) {
        guard let type = GGMLType(dtype), let bytes = TensorEncoding.bytes(of: floats, as: dtype) else {
            preconditionFailure("\(name): cannot store \(floats.count) values as \(dtype)")
        }
        add(name, type: type, shape: shape, bytes: bytes)
    }

    /// The whole file.
    package func serialized() -> [UInt8] {
        var out: [UInt8] = Array("GGUF".utf8)
        appendLittleEndian(UInt32(3), to: &out)
        appendLittleEndian(UInt64(entries.count), to: &out)
        appendLittleEndian(UInt64(metadata.count), to: &out)
        for entry in metadata {
            Self.append(string: entry.key, to: &out)
            appendLittleEndian(entry.value.typeCode, to: &out)
            Self.append(value: entry.value, to: &out)
        }
        var offset = 0
        var offsets: [Int] = []
        for entry in entries {
            Self.append(string: entry.name, to: &out)
            appendLittleEndian(UInt32(entry.shape.count), to: &out)
            for dim in entry.shape.reversed() { appendLittleEndian(UInt64(dim), to: &out) }
            appendLittleEndian(entry.type.rawValue, to: &out)
            appendLittleEndian(UInt64(offset), to: &out)
            offsets.append(offset)
            offset = (offset + entry.bytes.count + alignment - 1) / alignment * alignment
        }
        let dataStart = (out.count + alignment - 1) / alignment * alignment
        for (entry, tensorOffset) in zip(entries, offsets) {
            out += repeatElement(0, count: dataStart + tensorOffset - out.count)
            out += entry.bytes
        }
        return out
    }

    package func write(to path: String) throws(WeightFileError) {
        try writeFile(serialized(), to: path)
    }

    static func append(string: String, to out: inout [UInt8]) {
        appendLittleEndian(UInt64(string.utf8.count), to: &out)
        out += string.utf8
    }

    static func append(value: GGUFValue, to out: inout [UInt8]) {
        switch value {
        case .uint8(let v): appendLittleEndian(v, to: &out)
        case .int8(let v): appendLittleEndian(v, to: &out)
        case .uint16(let v): appendLittleEndian(v, to: &out)
        case .int16(let v): appendLittleEndian(v, to: &out)
        case .uint32(let v): appendLittleEndian(v, to: &out)
        case .int32(let v): appendLittleEndian(v, to: &out)
        case .float32(let v): appendLittleEndian(v.bitPattern, to: &out)
        case .bool(let v): out.append(v ? 1 : 0)
        case .string(let v): append(string: v, to: &out)
        case .array(let a): append(array: a, to: &out)
        case .uint64(let v): appendLittleEndian(v, to: &out)
        case .int64(let v): appendLittleEndian(v, to: &out)
        case .float64(let v): appendLittleEndian(v.bitPattern, to: &out)
        }
    }

    static func append(array: GGUFArray, to out: inout [UInt8]) {
        func header(_ type: UInt32) {
            appendLittleEndian(type, to: &out)
            appendLittleEndian(UInt64(array.count), to: &out)
        }
        switch array {
        case .uint8(let a): header(0); a.forEach { appendLittleEndian($0, to: &out) }
        case .int8(let a): header(1); a.forEach { appendLittleEndian($0, to: &out) }
        case .uint16(let a): header(2); a.forEach { appendLittleEndian($0, to: &out) }
        case .int16(let a): header(3); a.forEach { appendLittleEndian($0, to: &out) }
        case .uint32(let a): header(4); a.forEach { appendLittleEndian($0, to: &out) }
        case .int32(let a): header(5); a.forEach { appendLittleEndian($0, to: &out) }
        case .float32(let a): header(6); a.forEach { appendLittleEndian($0.bitPattern, to: &out) }
        case .bool(let a): header(7); a.forEach { out.append($0 ? 1 : 0) }
        case .string(let a): header(8); a.forEach { append(string: $0, to: &out) }
        case .array(let a): header(9); a.forEach { append(array: $0, to: &out) }
        case .uint64(let a): header(10); a.forEach { appendLittleEndian($0, to: &out) }
        case .int64(let a): header(11); a.forEach { appendLittleEndian($0, to: &out) }
        case .float64(let a): header(12); a.forEach { appendLittleEndian($0.bitPattern, to: &out) }
        }
    }
}
