import AudioIO

/// libFuzzer entry point for the Ogg Opus reader and decoder. Any crash, sanitizer report,
/// leak, hang or allocation beyond libFuzzer's limit is a bug; for most inputs the expected
/// outcome is that nothing decodes. Run with `scripts/fuzz.sh FuzzOgg SECONDS`.
///
/// Two modes, so that mutations reach past the CRC check:
/// - input starting with "OggS" (the seeds: real files) is pushed as it is, in uneven chunks;
/// - any other input describes pages that the harness assembles with valid CRCs after a valid
///   OpusHead page: flags, serial, sequence jumps, granules, lacing values and bodies all come
///   from the input, so lacing, continuation, gap, size-limit and end-of-stream paths are hit.
///
/// Seeds/ holds real files (ours, opusenc's, ffmpeg's, a chain) and `structured-pages.ogg`, a
/// page description for the second mode (named .ogg so that scripts/fuzz.sh picks it up).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard size > 0 else { return 0 }
    let limit = input[0] & 0x80 != 0 ? 300 : 65536  // a small packet limit exercises dropping
    let decoder = OggOpusDecoder(maximumPacketSize: limit)
    var output: [Float] = []
    output.reserveCapacity(1 << 16)

    func drain() {
        _ = try? decoder.decodeAvailable(appendingTo: &output)
        output.removeAll(keepingCapacity: true)
    }

    if size >= 4, input[0] == 0x4F, input[1] == 0x67, input[2] == 0x67, input[3] == 0x53 {
        let chunkSizes = [1, 7, 64, 4096, 333]
        var offset = 0, index = 0
        while offset < size {
            let count = min(chunkSizes[index % chunkSizes.count], size - offset)
            decoder.push(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: input[offset..<(offset + count)])))
            drain()
            offset += count
            index += 1
        }
    } else {
        var builder = PageBuilder(input: input)
        decoder.push(builder.headPage())
        while let page = builder.nextPage() {
            decoder.push(page)
            drain()
        }
    }
    drain()
    _ = decoder.reader.statistics
    return 0
}

/// Assembles Ogg pages with correct CRCs from fuzzer bytes.
struct PageBuilder {
    let input: UnsafeBufferPointer<UInt8>
    var offset = 1
    var sequence: UInt32 = 0
    let serial: UInt32 = 0x4D4F5348

    init(input: UnsafeBufferPointer<UInt8>) { self.input = input }

    mutating func byte() -> UInt8? {
        guard offset < input.count else { return nil }
        defer { offset += 1 }
        return input[offset]
    }

    /// The beginning-of-stream page: an OpusHead with pre-skip, channels and gain from the input.
    mutating func headPage() -> [UInt8] {
        let b = byte() ?? 0, c = byte() ?? 0
        var head: [UInt8] = Array("OpusHead".utf8) + [1, b & 0x40 != 0 ? 2 : 1, c, b & 0x3F, 0xC0, 0x5D, 0, 0]
        head += b & 0x80 != 0 ? [c, 0xFF] : [0, 0]
        head.append(0)
        defer { sequence = 1 }
        return page(flags: 0x02, granule: 0, serial: serial, sequence: 0, lacing: [19], body: head)
    }

    mutating func nextPage() -> [UInt8]? {
        guard let control = byte() else { return nil }
        let flags = control & 0x07
        let serial = control & 0x08 != 0 ? self.serial ^ 0x01 : self.serial
        switch (control >> 4) & 0x03 {
        case 0: sequence &+= 1
        case 1: break
        case 2: sequence &+= 2
        default: sequence = UInt32(byte() ?? 0) << 8 | UInt32(byte() ?? 0)
        }
        var granule: Int64 = -1
        if control & 0x40 != 0 {
            granule = 0
            for _ in 0..<(control & 0x80 != 0 ? 8 : 3) { granule = granule << 8 | Int64(byte() ?? 0) }
        }
        let segments = Int(byte() ?? 0)
        var lacing: [UInt8] = []
        for _ in 0..<segments { lacing.append(byte() ?? 255) }
        let bodyLength = lacing.reduce(0) { $0 + Int($1) }
        var body: [UInt8] = []
        body.reserveCapacity(bodyLength)
        for i in 0..<bodyLength { body.append(byte() ?? UInt8(truncatingIfNeeded: i)) }
        return page(flags: flags, granule: granule, serial: serial, sequence: sequence, lacing: lacing, body: body)
    }

    func page(flags: UInt8, granule: Int64, serial: UInt32, sequence: UInt32, lacing: [UInt8], body: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = Array("OggS".utf8) + [0, flags]
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: granule) >> (8 * UInt64(i)))) }
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: serial >> (8 * UInt32(i)))) }
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: sequence >> (8 * UInt32(i)))) }
        bytes += [0, 0, 0, 0, UInt8(lacing.count)]
        bytes += lacing
        bytes += body
        let crc = OggCRC.checksum(bytes)
        for i in 0..<4 { bytes[22 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        return bytes
    }
}

/// The Ogg CRC-32 (polynomial 0x04C11DB7, no reflection), table-driven.
enum OggCRC {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index) << 24
        for _ in 0..<8 { crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04C1_1DB7 : crc << 1 }
        return crc
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0
        for byte in bytes { crc = (crc << 8) ^ table[Int((crc >> 24) ^ UInt32(byte))] }
        return crc
    }
}
