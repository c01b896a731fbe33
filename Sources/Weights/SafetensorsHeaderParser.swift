/// Walks the JSON header of a safetensors file and collects, for each tensor, its dtype name,
/// shape and data offsets as written, plus the `__metadata__` map. Only checks syntax and
/// field types; `SafetensorsFile` checks the values against the data.
struct SafetensorsHeaderParser {
    /// One tensor's header entry, unchecked.
    struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    struct Header {
        var entries: [Entry] = []
        var metadata: [String: String] = [:]
    }

    private var reader: JSONReader
    private let file: String
    /// The tensor being read, so a syntax error inside an entry names it.
    private var currentTensor: String?

    init(text: UnsafeRawBufferPointer, file: String) {
        reader = JSONReader(text)
        self.file = file
    }

    mutating func parse() throws(WeightFileError) -> Header {
        var header = Header()
        var names = Set<String>()
        guard peek() == UInt8(ascii: "{") else {
            throw WeightFileError(.header, file: file, "the header is not a JSON object (is this a safetensors file?)")
        }
        var top = try json { r throws(JSONError) in try r.beginObject() }
        while let key = try json({ r throws(JSONError) in try r.nextKey(in: &top) }) {
            if key == "__metadata__" {
                header.metadata = try readMetadata()
                continue
            }
            currentTensor = key
            guard names.insert(key).inserted else { throw problem("appears twice in the header") }
            header.entries.append(try readEntry(named: key))
            currentTensor = nil
        }
        try json { r throws(JSONError) in try r.expectEnd() }
        return header
    }

    private mutating func readMetadata() throws(WeightFileError) -> [String: String] {
        var metadata: [String: String] = [:]
        guard peek() == UInt8(ascii: "{") else {
            throw WeightFileError(.header, file: file, "__metadata__ is not an object of strings")
        }
        var object = try json { r throws(JSONError) in try r.beginObject() }
        while let key = try json({ r throws(JSONError) in try r.nextKey(in: &object) }) {
            guard peek() == UInt8(ascii: "\"") else {
                throw WeightFileError(.header, file: file, "__metadata__ value of '\(key)' is not a string")
            }
            metadata[key] = try json { r throws(JSONError) in try r.readString() }
        }
        return metadata
    }

    private mutating func readEntry(named name: String) throws(WeightFileError) -> Entry {
        guard peek() == UInt8(ascii: "{") else {
            throw problem("the header entry is not an object")
        }
        var dtype: String?
        var shape: [Int]?
        var offsets: [Int]?
        var object = try json { r throws(JSONError) in try r.beginObject() }
        while let key = try json({ r throws(JSONError) in try r.nextKey(in: &object) }) {
            switch key {
            case "dtype":
                guard peek() == UInt8(ascii: "\"") else { throw problem("dtype is not a string") }
                dtype = try json { r throws(JSONError) in try r.readString() }
            case "shape":
                shape = try readIntegers(field: "shape", limit: SafetensorsFile.maxRank)
            case "data_offsets":
                offsets = try readIntegers(field: "data_offsets", limit: 2)
            default:
                try json { r throws(JSONError) in try r.skipValue() }
            }
        }
        guard let dtype else { throw problem("the header entry has no dtype") }
        guard let shape else { throw problem("the header entry has no shape") }
        guard let offsets else { throw problem("the header entry has no data_offsets") }
        guard offsets.count == 2 else {
            throw problem("data_offsets has \(offsets.count) numbers, not 2 ([begin, end])")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }

    /// Reads an array of at most `limit` integers.
    private mutating func readIntegers(field: String, limit: Int) throws(WeightFileError) -> [Int] {
        guard peek() == UInt8(ascii: "[") else { throw problem("\(field) is not an array of integers") }
        var values: [Int] = []
        var array = try json { r throws(JSONError) in try r.beginArray() }
        while try json({ r throws(JSONError) in try r.nextElement(in: &array) }) {
            guard values.count < limit else { throw problem("\(field) has more than \(limit) numbers") }
            values.append(try json { r throws(JSONError) in try r.readInteger() })
        }
        return values
    }

    /// Runs one reader step, turning a syntax error into a `WeightFileError` that gives the
    /// byte offset in the file (the header starts at byte 8) and the tensor being read.
    private mutating func json<T>(_ step: (inout JSONReader) throws(JSONError) -> T) throws(WeightFileError) -> T {
        do {
            return try step(&reader)
        } catch {
            throw WeightFileError(.header, file: file, tensor: currentTensor,
                "bad header JSON at byte \(error.offset + 8): \(error.message)")
        }
    }

    private mutating func peek() -> UInt8? { reader.peekKind() }

    private func problem(_ message: String) -> WeightFileError {
        WeightFileError(.header, file: file, tensor: currentTensor, message)
    }
}
