@testable import MoshiClient
import AudioIO
import Foundation
import Testing
@testable import Server

/// Not a test: the reply-lag measurement of Docs/LATENCY.md, run against a `moshi serve` that is
/// already up (release build). Enabled only with MOSHI_REPLY_LAG_SERVER=PORT (loopback) and
/// MOSHI_REPLY_LAG_METRICS=PORT. For each protocol, 10 s of speech-like audio is sent in real
/// time, one 80 ms message (Opus packet or Ogg page) every 80 ms, as Kyutai's clients do; the lag
/// of frame k is the arrival of its reply minus the sending of its input. The model's compute
/// per frame over the same frames comes from the server's /metrics. Prints, asserts nothing.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["MOSHI_REPLY_LAG_SERVER"] != nil))
struct ReplyLagMeasurement {
    static let port = Int(ProcessInfo.processInfo.environment["MOSHI_REPLY_LAG_SERVER"] ?? "") ?? 8998
    static let metricsPort = Int(ProcessInfo.processInfo.environment["MOSHI_REPLY_LAG_METRICS"] ?? "") ?? 9898
    static let frames = 125

    static func input() -> [Float] {
        (0..<(frames * 1920)).map { i in
            let t = Float(i) / 24000
            return 0.3 * sin(2 * .pi * (200 + 80 * sin(t)) * t) * (0.5 + 0.5 * sin(2 * .pi * 3 * t))
        }
    }

    /// Processor time (s) and frames so far, from /metrics.
    static func compute() throws -> (seconds: Double, frames: Double) {
        let text = try httpGet(port: metricsPort, path: "/metrics")
        var seconds = 0.0
        var frames = 0.0
        for line in text.split(separator: "\n") {
            for stage in ServerMetrics.processorStageNames where line.hasPrefix("moshi_stage_latency_seconds_sum{stage=\"\(stage)\"}") {
                seconds += Double(line.split(separator: " ").last ?? "") ?? 0
            }
            if line.hasPrefix("moshi_frames_processed_total ") { frames = Double(line.split(separator: " ").last ?? "") ?? 0 }
        }
        return (seconds, frames)
    }

    /// Reply j answers input frame j + `delay` (the server's Metadata `reply_delay_frames`; 1
    /// for Moshi, whose first frame yields no audio; plain Ogg has no Metadata and assumes 1).
    static func report(_ name: String, sent: [Double], replies: [Double], delay: Int = 1, before: (seconds: Double, frames: Double)) throws {
        let after = try compute()
        let computeMs = (after.seconds - before.seconds) / max(1, after.frames - before.frames) * 1000
        let lags = zip(sent.dropFirst(delay), replies).map { ($1 - $0) * 1000 }.sorted()
        guard !lags.isEmpty else { print("reply lag \(name): no replies"); return }
        let p50 = lags[lags.count / 2]
        print(String(format: "reply lag %@: %d frames, p50 %.1f ms, p90 %.1f ms, max %.1f ms; model compute mean %.1f ms/frame; p50 lag - compute %.1f ms",
                     name, lags.count, p50, lags[lags.count * 9 / 10], lags.last!, computeMs, p50 - computeMs))
    }

    /// `d` of `{"reply_delay_frames":d}`.
    static func replyDelay(_ json: String) -> Int? {
        guard let range = json.range(of: "\"reply_delay_frames\":") else { return nil }
        return Int(json[range.upperBound...].prefix { $0.isNumber })
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Times appended from one thread and read from another.
    final class Times: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Double] = []
        func append(_ value: Double) { lock.lock(); values.append(value); lock.unlock() }
        var all: [Double] { lock.lock(); defer { lock.unlock() }; return values }
        var count: Int { all.count }
    }

    @Test func framed() throws {
        let before = try Self.compute()
        let client = try FramedClient(host: "127.0.0.1", port: Self.port, receiveTimeoutSeconds: 10)
        _ = try client.receive()
        let encoder = try OpusEncoder(sampleRate: 24000, channelCount: 1, application: .voip)
        let audio = Self.input()
        let sent = Times()
        let replies = Times()
        let box = UncheckedClient(client)
        let delay = Times()
        let reader = Thread {
            while let m = try? box.client.receive() {
                if m.kind == .audio { replies.append(Self.now()) }
                if m.kind == .metadata, let d = Self.replyDelay(m.text) { delay.append(Double(d)) }
            }
        }
        reader.start()
        let start = Self.now()
        for k in 0..<Self.frames {
            let packet = try encoder.encode(Array(audio[(k * 1920)..<((k + 1) * 1920)]))
            while Self.now() < start + Double(k) * 0.08 { usleep(200) }
            try client.send(.audio, payload: packet)
            sent.append(Self.now())
        }
        usleep(500_000)
        client.abort()
        try Self.report("framed", sent: sent.all, replies: replies.all, delay: Int(delay.all.first ?? 1), before: before)
    }

    @Test func webSocket() throws {
        let before = try Self.compute()
        var client = try WebSocketTestClient(port: Self.port, path: "/api/chat")
        _ = client.nextFrame()
        let ogg = try KyutaiStyleOgg()
        let audio = Self.input()
        let sent = Times()
        var replies: [Double] = []
        let socket = client.socket
        let start = Self.now()
        let sender = Thread {
            let writer = WebSocketTestClient(socket: socket)
            for k in 0..<Self.frames {
                let page = try! ogg.page(of: Array(audio[(k * 1920)..<((k + 1) * 1920)]))
                while Self.now() < start + Double(k) * 0.08 { usleep(200) }
                writer.sendFrame(opcode: 0x2, [MessageKind.audio.rawValue] + page)
                sent.append(Self.now())
            }
        }
        sender.start()
        var delay = 1
        while replies.count < Self.frames, let frame = client.nextFrame(timeoutSeconds: 2) {
            if frame.0 == 0x2, frame.1.first == MessageKind.audio.rawValue { replies.append(Self.now()) }
            if frame.0 == 0x2, frame.1.first == MessageKind.metadata.rawValue,
               let d = Self.replyDelay(String(decoding: frame.1.dropFirst(), as: UTF8.self)) { delay = d }
        }
        usleep(200_000)
        try Self.report("websocket", sent: sent.all, replies: replies, delay: delay, before: before)
    }

    @Test func plainOgg() throws {
        let before = try Self.compute()
        let socket = RawSocket(fd: try FramedClient.connect(host: "127.0.0.1", port: Self.port))
        let ogg = try KyutaiStyleOgg()
        let audio = Self.input()
        let sent = Times()
        var replies: [Double] = []
        let start = Self.now()
        let sender = Thread {
            for k in 0..<Self.frames {
                let page = try! ogg.page(of: Array(audio[(k * 1920)..<((k + 1) * 1920)]))
                while Self.now() < start + Double(k) * 0.08 { usleep(200) }
                socket.send(page)
                sent.append(Self.now())
            }
        }
        sender.start()
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var pages = 0
        while replies.count < Self.frames {
            let n = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            let arrived = Self.now()
            pending += buffer[0..<n]
            // Count whole pages; the first two are OpusHead and OpusTags.
            while pending.count >= 27, pending.starts(with: Array("OggS".utf8)) {
                let segments = Int(pending[26])
                guard pending.count >= 27 + segments else { break }
                let length = 27 + segments + pending[27..<(27 + segments)].reduce(0) { $0 + Int($1) }
                guard pending.count >= length else { break }
                pending.removeFirst(length)
                pages += 1
                if pages > 2 { replies.append(arrived) }
            }
        }
        close(socket.fd)
        usleep(200_000)
        try Self.report("plain-ogg", sent: sent.all, replies: replies, before: before)
    }
}

final class UncheckedClient: @unchecked Sendable {
    let client: FramedClient
    init(_ client: FramedClient) { self.client = client }
}
