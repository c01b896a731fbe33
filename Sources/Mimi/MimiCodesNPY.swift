/// NumPy `.npy` (format 1.0/2.0/3.0) reading and writing for `MimiCodes`: an int32 `[codebooks,
/// frames]` array, as `np.save(path, codes.astype(np.int32))` writes it and `np.load` reads it.
/// Reading accepts any little-endian (or byte-sized) integer dtype and Fortran order; values
/// must fit in int32. Bad input is a `MimiCodesFileError`, never a crash or a huge allocation.
extension MimiCodes {
    /// The most bytes of header a file may have (NumPy writes well under 1 KB).
    static let maximumHeaderLength = 65_536

    /// The whole `.npy` file: magic, version 1.0, header padded to 64 bytes, int32 little-endian data.
    package func npyBytes() -> [UInt8] {
        var header = "{'descr': '<i4', 'fortran_order': False, 'shape': (\(codebooks), \(frames)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = UInt16(header.utf8.count)
        out += [UInt8(length & 0xFF), UInt8(length >> 8)]
        out += Array(header.utf8)
        out.reserveCapacity(out.count + 4 * values.count)
        for v in values {
            let bits = UInt32(bitPattern: v)
            out += [UInt8(bits & 0xFF), UInt8((bits >> 8) & 0xFF), UInt8((bits >> 16) & 0xFF), UInt8(bits >> 24)]
        }
        return out
    }

    /// Parses a `.npy` file holding a 2-D integer array `[codebooks, frames]`.
    package init(npy bytes: [UInt8]) throws(MimiCodesFileError) {
        guard bytes.count >= 10, bytes[0] == 0x93, bytes[1..<6].elementsEqual("NUMPY".utf8) else {
            throw .notNPY("no \\x93NUMPY magic")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw .truncated("the header length is cut off") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw .unsupported("format version \(major).\(bytes[7])")
        }
        guard headerLength <= Self.maximumHeaderLength else { throw .invalidHeader("header length \(headerLength) is implausible") }
        guard bytes.count >= headerStart + headerLength else { throw .truncated("the header runs past the end of the file") }
        guard let header = String(validating: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self) else {
            throw .invalidHeader("the header is not text")
        }
        let fields = try NPYHeader(header)
        guard fields.shape.count == 2 else {
            throw .unsupported("shape \(fields.shape): Mimi codes are a 2-D [codebooks, frames] array")
        }
        let (rows, columns) = (fields.shape[0], fields.shape[1])
        guard rows >= 1, rows <= 1024 else { throw .unsupported("\(rows) codebooks (rows); expected 1 to 32") }
        guard columns <= 100_000_000 / rows else { throw .unsupported("\(columns) frames is too many") }
        let dataStart = headerStart + headerLength
        let expected = rows * columns * fields.itemSize
        guard bytes.count - dataStart >= expected else {
            throw .truncated("the data holds \(bytes.count - dataStart) bytes, the header announces \(expected)")
        }
        var values = [Int32](repeating: 0, count: rows * columns)
        for i in 0..<(rows * columns) {
            let offset = dataStart + i * fields.itemSize
            var raw: UInt64 = 0
            for b in 0..<fields.itemSize { raw |= UInt64(bytes[offset + b]) << (8 * UInt64(b)) }
            let value: Int64
            if fields.signed {
                let shift = UInt64(64 - 8 * fields.itemSize)
                value = Int64(bitPattern: raw << shift) >> Int64(shift)
            } else {
                guard raw <= UInt64(Int64.max) else { throw .outOfRange("value \(raw) at element \(i)") }
                value = Int64(raw)
            }
            guard let narrow = Int32(exactly: value) else { throw .outOfRange("value \(value) at element \(i) does not fit int32") }
            // C order stores rows contiguously; Fortran order stores columns contiguously.
            let (row, column) = fields.fortranOrder ? (i % rows, i / rows) : (i / columns, i % columns)
            values[row * columns + column] = narrow
        }
        self.init(codebooks: rows, frames: columns, values: values)
    }
}

/// Why a `.npy` codes file could not be read.
package enum MimiCodesFileError: Error, Equatable, CustomStringConvertible {
    case notNPY(String)
    case truncated(String)
    case invalidHeader(String)
    case unsupported(String)
    case outOfRange(String)

    package var description: String {
        switch self {
        case .notNPY(let why): "not a NumPy .npy file: \(why)"
        case .truncated(let why): "truncated .npy file: \(why)"
        case .invalidHeader(let why): "invalid .npy header: \(why)"
        case .unsupported(let why): "unsupported .npy array: \(why)"
        case .outOfRange(let why): "code out of range: \(why)"
        }
    }
}

/// The three fields of a `.npy` header dict (`{'descr': '<i4', 'fortran_order': False, 'shape': (8, 34), }`).
private struct NPYHeader {
    let itemSize: Int
    let signed: Bool
    let fortranOrder: Bool
    let shape: [Int]

    init(_ text: String) throws(MimiCodesFileError) {
        func value(of key: String) throws(MimiCodesFileError) -> Substring {
            guard let keyRange = text.firstRange(of: "'\(key)'") ?? text.firstRange(of: "\"\(key)\"") else {
                throw .invalidHeader("no '\(key)' in \(text.debugDescription)")
            }
            var rest = text[keyRange.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { throw .invalidHeader("no ':' after '\(key)'") }
            rest = rest.dropFirst().drop { $0 == " " }
            return rest
        }
        let descrText = try value(of: "descr")
        guard let quote = descrText.first, quote == "'" || quote == "\"",
              let end = descrText.dropFirst().firstIndex(of: quote) else {
            throw .invalidHeader("'descr' is not a string")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<end])
        guard descr.count >= 3, let size = Int(descr.dropFirst(2)), let kind = descr.dropFirst().first,
              kind == "i" || kind == "u", [1, 2, 4, 8].contains(size) else {
            throw .unsupported("dtype '\(descr)': codes must be integers (e.g. '<i4')")
        }
        let order = descr.first!
        guard order == "<" || order == "|" || (order == "=" && UInt16(littleEndian: 1) == 1) || size == 1 else {
            throw .unsupported("dtype '\(descr)': big-endian data")
        }
        itemSize = size
        signed = kind == "i"

        let orderText = try value(of: "fortran_order")
        if orderText.hasPrefix("True") { fortranOrder = true } else if orderText.hasPrefix("False") { fortranOrder = false } else {
            throw .invalidHeader("'fortran_order' is neither True nor False")
        }

        let shapeText = try value(of: "shape")
        guard shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
            throw .invalidHeader("'shape' is not a tuple")
        }
        let inner = shapeText[shapeText.index(after: shapeText.startIndex)..<close]
        var dims: [Int] = []
        for part in inner.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: " ")
            guard !trimmed.isEmpty else { continue }
            guard let dim = Int(trimmed), dim >= 0, dim <= 1 << 40 else { throw .invalidHeader("shape entry '\(trimmed)'") }
            dims.append(dim)
        }
        shape = dims
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return s
    }
}
