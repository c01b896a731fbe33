/// Reads the header of a GGUF file (v2 or v3, little-endian): magic, version, counts, metadata
/// key-values and tensor infos. Every count is checked against the bytes left before anything
/// is allocated for it, so a hostile count fails at once instead of allocating.
struct GGUFParser {
    static let supportedVersions: [UInt32] = [2, 3]
    /// Arrays nested deeper than this are refused.
    static let maxArrayDepth = 8
    /// The smallest a key-value (empty key, 1-byte value) and a tensor info (empty name,
    /// no dims) can be; counts above bytes-left / this are impossible.
    static let minimumKeyValueBytes = 8 + 4 + 1
    static let minimumTensorInfoBytes = 8 + 4 + 4 + 8

    struct Header {
        var version: UInt32
        var metadata: [GGUFKeyValue]
        var tensorInfos: [GGUFTensorInfo]
        /// Where the tensor infos end (the data section starts at the next aligned byte).
        var headerEnd: Int
    }

    private var reader: ByteReader
    private let file: String

    init(bytes: UnsafeRawBufferPointer, file: String) {
        reader = ByteReader(bytes, file: file)
        self.file = file
    }

    mutating func parse() throws(WeightFileError) -> Header {
        let total = reader.bytes.count
        let magic = try reader.take(4, "magic")
        guard magic.elementsEqual("GGUF".utf8) else {
            let hex = magic.map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            throw failure("not a GGUF file: it starts with \(hex), not 'GGUF'")
        }
        let version = try reader.read(UInt32.self, "version")
        guard Self.supportedVersions.contains(version) else {
            if Self.supportedVersions.contains(version.byteSwapped) {
                throw failure("big-endian GGUF (version \(version.byteSwapped)) is not supported")
            }
            throw failure("GGUF version \(version) is not supported (supported: 2, 3)")
        }
        let tensorCount = try reader.read(UInt64.self, "tensor count")
        let keyValueCount = try reader.read(UInt64.self, "metadata key-value count")
        guard keyValueCount <= UInt64(reader.remaining / Self.minimumKeyValueBytes) else {
            throw failure("metadata key-value count \(keyValueCount) is impossible: the file (\(total) bytes) has room for at most \(reader.remaining / Self.minimumKeyValueBytes)")
        }
        guard tensorCount <= UInt64(reader.remaining / Self.minimumTensorInfoBytes) else {
            throw failure("tensor count \(tensorCount) is impossible: the file (\(total) bytes) has room for at most \(reader.remaining / Self.minimumTensorInfoBytes) tensor infos")
        }

        var metadata: [GGUFKeyValue] = []
        metadata.reserveCapacity(Int(keyValueCount))
        var keys = Set<String>()
        for index in 0..<Int(keyValueCount) {
            let key = try readString("metadata key \(index)", strict: true)
            guard keys.insert(key).inserted else { throw failure("metadata key '\(key)' appears twice") }
            let type = try reader.read(UInt32.self, "type of metadata '\(key)'")
            metadata.append(GGUFKeyValue(key: key, value: try readValue(type: type, key: key, depth: 0)))
        }

        var tensorInfos: [GGUFTensorInfo] = []
        tensorInfos.reserveCapacity(Int(tensorCount))
        var names = Set<String>()
        for index in 0..<Int(tensorCount) {
            tensorInfos.append(try readTensorInfo(index: index, names: &names))
        }
        return Header(version: version, metadata: metadata, tensorInfos: tensorInfos, headerEnd: reader.position)
    }

    private mutating func readTensorInfo(index: Int, names: inout Set<String>) throws(WeightFileError) -> GGUFTensorInfo {
        let name = try readString("name of tensor \(index)", strict: true)
        guard names.insert(name).inserted else {
            throw WeightFileError(.format, file: file, tensor: name, "appears twice in the tensor infos")
        }
        let rank = try reader.read(UInt32.self, "n_dims of tensor '\(name)'")
        guard rank <= 4 else {
            throw WeightFileError(.shape, file: file, tensor: name, "has \(rank) dims; GGUF allows at most 4")
        }
        var dims: [Int] = []
        for _ in 0..<Int(rank) {
            let dim = try reader.read(UInt64.self, "dims of tensor '\(name)'")
            guard let value = Int(exactly: dim) else {
                throw WeightFileError(.shape, file: file, tensor: name, "dimension \(dim) is too large")
            }
            dims.append(value)
        }
        let type = GGMLType(rawValue: try reader.read(UInt32.self, "type of tensor '\(name)'"))
        let offset = try reader.read(UInt64.self, "offset of tensor '\(name)'")
        guard let offsetValue = Int(exactly: offset) else {
            throw WeightFileError(.offsets, file: file, tensor: name, "offset \(offset) is too large")
        }
        return GGUFTensorInfo(name: name, dims: dims, type: type, offset: offsetValue)
    }

    /// A GGUF string: u64 length, then that many bytes. Keys and tensor names must be valid
    /// UTF-8 (`strict`); values are repaired with U+FFFD instead, as tokenizer vocabularies
    /// sometimes hold byte fragments.
    private mutating func readString(_ what: @autoclosure () -> String, strict: Bool) throws(WeightFileError) -> String {
        let start = reader.position
        let length = try reader.read(UInt64.self, "length of \(what())")
        guard length <= UInt64(reader.remaining) else {
            throw WeightFileError(.truncated, file: file,
                "\(what()): string length \(length) at byte \(start) runs past the end of the file (\(reader.remaining) bytes left)")
        }
        let raw = try reader.take(Int(length), what())
        if strict {
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw failure("\(what()) at byte \(start) is not valid UTF-8")
            }
            return text
        }
        return String(decoding: raw, as: UTF8.self)
    }

    /// The fewest bytes one value of a type takes, or nil for an unknown type.
    private static func minimumBytes(ofType type: UInt32) -> Int? {
        switch type {
        case 0, 1, 7: 1
        case 2, 3: 2
        case 4, 5, 6: 4
        case 8, 10, 11, 12: 8
        case 9: 12
        default: nil
        }
    }

    private mutating func readValue(type: UInt32, key: String, depth: Int) throws(WeightFileError) -> GGUFValue {
        let what = "value of metadata '\(key)'"
        switch type {
        case 0: return .uint8(try reader.read(UInt8.self, what))
        case 1: return .int8(try reader.read(Int8.self, what))
        case 2: return .uint16(try reader.read(UInt16.self, what))
        case 3: return .int16(try reader.read(Int16.self, what))
        case 4: return .uint32(try reader.read(UInt32.self, what))
        case 5: return .int32(try reader.read(Int32.self, what))
        case 6: return .float32(Float(bitPattern: try reader.read(UInt32.self, what)))
        case 7: return .bool(try reader.read(UInt8.self, what) != 0)
        case 8: return .string(try readString(what, strict: false))
        case 9: return .array(try readArray(key: key, depth: depth + 1))
        case 10: return .uint64(try reader.read(UInt64.self, what))
        case 11: return .int64(try reader.read(Int64.self, what))
        case 12: return .float64(Double(bitPattern: try reader.read(UInt64.self, what)))
        default: throw failure("metadata '\(key)' has unknown value type \(type)")
        }
    }

    private mutating func readArray(key: String, depth: Int) throws(WeightFileError) -> GGUFArray {
        guard depth <= Self.maxArrayDepth else {
            throw failure("metadata '\(key)' nests arrays deeper than \(Self.maxArrayDepth) levels")
        }
        let what = "array of metadata '\(key)'"
        let elementType = try reader.read(UInt32.self, "element type of \(what)")
        let rawCount = try reader.read(UInt64.self, "length of \(what)")
        guard let minimum = Self.minimumBytes(ofType: elementType) else {
            throw failure("metadata '\(key)' is an array of unknown value type \(elementType)")
        }
        guard rawCount <= UInt64(reader.remaining / minimum) else {
            throw WeightFileError(.truncated, file: file,
                "metadata '\(key)': an array of \(rawCount) elements cannot fit in the \(reader.remaining) bytes left")
        }
        let count = Int(rawCount)
        func many<T>(_ read: (inout GGUFParser) throws(WeightFileError) -> T) throws(WeightFileError) -> [T] {
            var values: [T] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try read(&self)) }
            return values
        }
        switch elementType {
        case 0: return .uint8(Array(try reader.take(count, what)))
        case 1: return .int8(try reader.take(count, what).map { Int8(bitPattern: $0) })
        case 2: return .uint16(try many { p throws(WeightFileError) in try p.reader.read(UInt16.self, what) })
        case 3: return .int16(try many { p throws(WeightFileError) in try p.reader.read(Int16.self, what) })
        case 4: return .uint32(try many { p throws(WeightFileError) in try p.reader.read(UInt32.self, what) })
        case 5: return .int32(try many { p throws(WeightFileError) in try p.reader.read(Int32.self, what) })
        case 6: return .float32(try many { p throws(WeightFileError) in Float(bitPattern: try p.reader.read(UInt32.self, what)) })
        case 7: return .bool(try reader.take(count, what).map { $0 != 0 })
        case 8: return .string(try many { p throws(WeightFileError) in try p.readString(what, strict: false) })
        case 9: return .array(try many { p throws(WeightFileError) in try p.readArray(key: key, depth: depth + 1) })
        case 10: return .uint64(try many { p throws(WeightFileError) in try p.reader.read(UInt64.self, what) })
        case 11: return .int64(try many { p throws(WeightFileError) in try p.reader.read(Int64.self, what) })
        default: return .float64(try many { p throws(WeightFileError) in Double(bitPattern: try p.reader.read(UInt64.self, what)) })
        }
    }

    private func failure(_ message: String) -> WeightFileError {
        WeightFileError(.format, file: file, message)
    }
}
