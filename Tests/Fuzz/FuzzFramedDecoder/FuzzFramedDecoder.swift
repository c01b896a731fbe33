import Server

/// libFuzzer entry point for the framed protocol's decoder (`FramedDecoder`) and the handshake
/// options parser. Any crash, sanitizer report, hang or allocation beyond libFuzzer's limit is a
/// bug; the expected outcome is messages or a `FramedProtocolError`, never a trap.
///
/// The first input byte picks the payload limit (small limits exercise the size check) and
/// the chunking; the rest is the stream, pushed in uneven chunks. Every message must respect
/// the limit, and a handshake payload goes through `SessionOptions(json:)`.
/// Run with `scripts/fuzz.sh FuzzFramedDecoder SECONDS`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard size > 0 else { return 0 }
    let limits = [16, 300, 4096, FramedProtocol.defaultMaximumPayload]
    let limit = limits[Int(input[0] & 3)]
    let chunkSizes = [1, 5, 7, 64, 1000, 333]
    let firstChunk = Int(input[0] >> 2) % chunkSizes.count
    var decoder = FramedDecoder(maximumPayload: limit)
    let stream = input[1...]
    var offset = stream.startIndex
    var chunk = firstChunk
    var failed = false
    while offset < stream.endIndex, !failed {
        let end = min(stream.endIndex, offset + chunkSizes[chunk % chunkSizes.count])
        decoder.push(stream[offset..<end])
        offset = end
        chunk += 1
        do {
            while let message = try decoder.next() {
                precondition(message.payload.count <= limit, "payload over the limit")
                if message.kind == .handshake { _ = try? SessionOptions(json: message.payload) }
                _ = message.text
            }
        } catch {
            failed = true
            _ = error.description
        }
    }
    if !failed { _ = try? decoder.finish() }
    return 0
}
