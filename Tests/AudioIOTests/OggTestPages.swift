/// An independent reading of Ogg pages (RFC 3533) for tests, written apart from libogg so that
/// the writer's output is checked by something other than the library that produced it.
struct OggTestPage {
    var flags: UInt8
    var granule: Int64
    var serial: UInt32
    var sequence: UInt32
    var lacing: [UInt8]
    var body: [UInt8]
    var crcMatches: Bool
    var byteRange: Range<Int>

    var isBeginning: Bool { flags & 2 != 0 }
    var isEnd: Bool { flags & 4 != 0 }
    var isContinued: Bool { flags & 1 != 0 }
    /// Packets completed on this page (lacing values below 255).
    var completedPackets: Int { lacing.filter { $0 < 255 }.count }

    /// Splits well-formed Ogg bytes into pages; nil where the bytes are not a page sequence.
    static func parse(_ bytes: [UInt8]) -> [OggTestPage]? {
        var pages: [OggTestPage] = []
        var offset = 0
        while offset < bytes.count {
            guard offset + 27 <= bytes.count, bytes[offset..<(offset + 4)].elementsEqual("OggS".utf8), bytes[offset + 4] == 0 else { return nil }
            func le(_ at: Int, _ n: Int) -> UInt64 { (0..<n).reduce(0) { $0 | UInt64(bytes[offset + at + $1]) << (8 * UInt64($1)) } }
            let segments = Int(bytes[offset + 26])
            guard offset + 27 + segments <= bytes.count else { return nil }
            let lacing = Array(bytes[(offset + 27)..<(offset + 27 + segments)])
            let bodyLength = lacing.reduce(0) { $0 + Int($1) }
            let end = offset + 27 + segments + bodyLength
            guard end <= bytes.count else { return nil }
            var page = Array(bytes[offset..<end])
            let stored = UInt32(le(22, 4))
            page[22] = 0; page[23] = 0; page[24] = 0; page[25] = 0
            pages.append(OggTestPage(
                flags: bytes[offset + 5], granule: Int64(bitPattern: le(6, 8)), serial: UInt32(le(14, 4)),
                sequence: UInt32(le(18, 4)), lacing: lacing, body: Array(bytes[(offset + 27 + segments)..<end]),
                crcMatches: crc(page) == stored, byteRange: offset..<end))
            offset = end
        }
        return pages
    }

    /// The Ogg CRC-32: polynomial 0x04C11DB7, initial value 0, no reflection, no final XOR.
    static func crc(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0
        for byte in bytes {
            crc ^= UInt32(byte) << 24
            for _ in 0..<8 { crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04C1_1DB7 : crc << 1 }
        }
        return crc
    }
}
