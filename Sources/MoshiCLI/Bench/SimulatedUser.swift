import AudioIO
import Foundation
import MoshiNumerics
import Synchronization

/// One person talking to `moshi serve` for `moshi bench serve`: Kyutai's protocol on
/// `/api/chat`, the user's speech sent in real time as one 80 ms Opus packet per Ogg page (as
/// Kyutai's clients send it), the reply decoded as it arrives. Reply lag of frame k = arrival
/// of the reply's sample 1920·(k+1) − 1 minus the sending of the user's frame k: what the person
/// waits, network and server included.
final class SimulatedUser: @unchecked Sendable {  // the sender and receiver threads own their halves
    struct Result: Sendable {
        var framesSent = 0
        var framesReplied = 0
        var textMessages = 0
        /// Reply lag per replied frame, milliseconds.
        var lagsMs: [Double] = []
        var error: String?

        func percentile(_ p: Double) -> Double {
            guard !lagsMs.isEmpty else { return .nan }
            let sorted = lagsMs.sorted()
            return sorted[min(sorted.count - 1, Int((p * Double(sorted.count - 1)).rounded()))]
        }
        var maxLag: Double { lagsMs.max() ?? .nan }
    }

    private let host: String
    private let port: Int
    private let audio: [Float]
    private let frames: Int
    private let result = Mutex(Result())
    /// When each user frame went out (written by the sender before it publishes the count in
    /// `run`'s `sent`, read by the receiver only below that count).
    private let sendTimes: UnsafeMutablePointer<UInt64>

    /// - Parameters:
    ///   - audio: the user's speech at 24 kHz, repeated to fill `seconds`.
    init(host: String, port: Int, audio: [Float], seconds: Double) {
        self.host = host
        self.port = port
        self.frames = max(1, Int(seconds / 0.08))
        let needed = frames * 1920
        var looped: [Float] = []
        looped.reserveCapacity(needed)
        while looped.count < needed { looped += audio.prefix(needed - looped.count) }
        self.audio = looped
        sendTimes = .allocate(capacity: frames)
        sendTimes.initialize(repeating: 0, count: frames)
    }

    deinit { sendTimes.deallocate() }

    /// Holds the conversation: returns when the reply to the last frame came (or `graceSeconds`
    /// after the last frame was sent, or on an error).
    func run(graceSeconds: Double = 3) -> Result {
        let socket: ChatSocket
        do { socket = try ChatSocket(host: host, port: port) } catch {
            return Result(error: "\(error)")
        }
        // The handshake (kind 0) says the server is ready; only then does the person speak.
        do {
            while true {
                guard let message = try socket.readMessage() else { return Result(error: "closed before the handshake") }
                if message.opcode == 0x2, message.payload.first == 0x00 { break }
            }
        } catch { return Result(error: "\(error)") }

        let sent = Atomic<Int>(0)
        let receiverDone = DispatchSemaphore(value: 0)
        let frames = self.frames
        let receiver = Thread { [self] in
            let decoder = OggOpusDecoder()
            var pcm: [Float] = []
            var received = 0
            var replied = 0
            var lags: [Double] = []
            var texts = 0
            var failure: String?
            do {
                while replied < frames, let message = try socket.readMessage() {
                    guard message.opcode == 0x2, let kind = message.payload.first else { continue }
                    if kind == 0x02 { texts += 1; continue }
                    guard kind == 0x01 else { continue }
                    decoder.push(Array(message.payload.dropFirst()))
                    pcm.removeAll(keepingCapacity: true)
                    received += try decoder.decodeAvailable(appendingTo: &pcm)
                    let now = MonotonicTime.nanoseconds()
                    let available = sent.load(ordering: .acquiring)
                    while replied < frames, received >= (replied + 1) * 1920 {
                        if replied < available { lags.append(Double(now &- self.sendTimes[replied]) / 1e6) }
                        replied += 1
                    }
                }
            } catch {
                failure = "\(error)"
            }
            self.result.withLock {
                $0.framesReplied = replied
                $0.lagsMs = lags
                $0.textMessages = texts
                if $0.error == nil { $0.error = failure }
            }
            receiverDone.signal()
        }
        receiver.name = "bench-user-receive"
        receiver.start()

        do {
            let encoder = try OpusEncoder(sampleRate: 24000, channelCount: 1, application: .voip)
            let writer = try OggOpusWriter(head: OpusHead(preSkip: 3840, inputSampleRate: 24000))
            let start = MonotonicTime.nanoseconds()
            for k in 0..<frames {
                let due = start + UInt64(k) * 80_000_000
                let now = MonotonicTime.nanoseconds()
                if due > now { usleep(UInt32((due - now) / 1000)) }
                let packet = try encoder.encode(Array(audio[k * 1920 ..< (k + 1) * 1920]))
                var page: [UInt8] = [0x01]
                try packet.withUnsafeBufferPointer { try writer.write(packet: $0, to: &page) }
                try socket.sendBinary(page)
                sendTimes[k] = MonotonicTime.nanoseconds()
                sent.store(k + 1, ordering: .releasing)
            }
        } catch {
            result.withLock { $0.error = "\(error)" }
        }
        result.withLock { $0.framesSent = sent.load(ordering: .relaxed) }
        if receiverDone.wait(timeout: .now() + graceSeconds) == .timedOut {
            socket.shutdownBoth()
            receiverDone.wait()
        }
        socket.sendClose()
        return result.withLock { $0 }
    }
}
