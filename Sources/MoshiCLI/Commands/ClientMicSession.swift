import MoshiClient
import AudioIO
import Dispatch
import Engine
import Foundation
import MoshiNumerics
import Server
import Synchronization

/// `moshi client --mic`'s logic apart from arguments and signals: the microphone (ALSA capture,
/// 24 kHz mono) sent as 20 ms Opus packets as they are captured, the server's 80 ms packets
/// played on the speaker through a `PlaybackJitterBuffer`, the model's words handed to `onText`
/// as they come. Tests drive it with ALSA `file`/`null` plugin devices.
///
/// Three threads: the caller's captures and sends, one receives, one plays. The conversation
/// ends when `shouldStop` says so (Ctrl-C), after `maxSeconds` of captured audio, or when the
/// server closes; the client then says end-of-input (half-close), waits up to
/// `endOfStreamTimeout` for the server's end-of-stream and close, and plays what is queued.
struct ClientMicSession {
    var host: String
    var port: Int
    var options = SessionOptions()
    var inputDevice = "default"
    var outputDevice = "default"
    /// Devices are looked up here instead of in the system's ALSA configuration.
    var alsaConfiguration: ALSAConfiguration?
    /// Whether the devices keep real time (sound cards). ALSA's file plugins do not: the
    /// client then paces capture (20 ms) and playback (80 ms) on the monotonic clock.
    var devicesPaced = true
    /// Stop after this much captured audio (seconds); nil: until `shouldStop` or the server ends.
    var maxSeconds: Double?
    /// How long to wait for the server's end-of-stream after end-of-input.
    var endOfStreamTimeout: Double = 5
    /// Packets of 80 ms queued before playback starts, and the most held (the oldest dropped beyond).
    var jitterStartPackets = 2
    var jitterCapacityPackets = 8

    /// Samples per captured and sent packet: 20 ms.
    static let packetSamples = OpusFrameDuration.ms20.samples(atRate: FrameTiming.sampleRate)

    /// What the conversation did.
    struct Summary: Sendable, Equatable {
        /// 20 ms packets captured and sent.
        var packetsSent = 0
        /// 80 ms packets received from the server.
        var packetsReceived = 0
        /// Frames of 80 ms written to the speaker: played, concealed and silence before the start.
        var framesWritten = 0
        /// Playback ran dry this many frames (concealed with Opus PLC, or silence before any audio).
        var underflows = 0
        /// Packets dropped because the jitter buffer was full.
        var dropped = 0
        /// Device over- and underruns recovered from.
        var captureXruns = 0
        var playbackXruns = 0
        /// Whether the server sent its end-of-stream control message.
        var endOfStream = false
        /// The server's error message, if it sent one.
        var serverError: String?

        /// One line for stderr.
        var statusLine: String {
            var text = "moshi client: \(packetsSent) packet(s) of 20 ms sent, \(packetsReceived) of 80 ms received, "
                + "\(framesWritten) frame(s) played, \(underflows) underflow(s) concealed, \(dropped) dropped"
            if captureXruns + playbackXruns > 0 { text += ", xruns: \(captureXruns) capture, \(playbackXruns) playback" }
            text += endOfStream ? "; end of stream received" : "; no end of stream from the server"
            return text
        }
    }

    /// Opens the devices, holds the conversation, returns what happened. Throws when a device or
    /// the connection cannot be opened, or the server refuses before its handshake.
    func run(shouldStop: @escaping @Sendable () -> Bool = { false }, onText: @escaping @Sendable (String) -> Void) throws -> Summary {
        var captureConfiguration = PCMDeviceConfiguration()
        captureConfiguration.framesPerPeriod = Self.packetSamples
        captureConfiguration.periodCount = 8
        let capture = try PCMDevice(name: inputDevice, direction: .capture, configuration: captureConfiguration, alsaConfiguration: alsaConfiguration)
        // Two 80 ms periods: the device's own buffer adds little delay on top of the jitter buffer.
        var playbackConfiguration = PCMDeviceConfiguration()
        playbackConfiguration.periodCount = 2
        playbackConfiguration.playbackStartPeriods = 2
        let playback = try PCMDevice(name: outputDevice, direction: .playback, configuration: playbackConfiguration, alsaConfiguration: alsaConfiguration)

        let client = try FramedClient(host: host, port: port, options: options, receiveTimeoutSeconds: 10)
        guard let first = try client.receive() else { throw FramedClientError("the server closed the connection at once") }
        if first.kind == .error { throw FramedClientError("server: \(first.text)") }
        guard first.kind == .handshake else { throw FramedClientError("expected the server's handshake, got \(first.kind)") }

        let jitter = PlaybackJitterBuffer<[UInt8]>(startDepth: jitterStartPackets, capacity: jitterCapacityPackets)
        let shared = SharedState()
        let receiverDone = DispatchSemaphore(value: 0)
        let playerDone = DispatchSemaphore(value: 0)

        let receiver = Thread {
            defer {
                jitter.finish()
                shared.receiverFinished.store(true, ordering: .releasing)
                receiverDone.signal()
            }
            do {
                while let message = try client.receive() {
                    switch message.kind {
                    case .audio:
                        jitter.push(message.payload)
                        shared.packetsReceived.add(1, ordering: .relaxed)
                    case .text:
                        onText(message.text)
                    case .control where message.payload == [1]:
                        shared.endOfStream.store(true, ordering: .relaxed)
                    case .error:
                        shared.serverError.withLock { $0 = message.text }
                    default:
                        break
                    }
                }
            } catch {
                // A reset, a timeout or our own abort: the conversation is over either way.
            }
        }
        receiver.name = "moshi-client-receive"

        let paced = devicesPaced
        let player = Thread {
            defer { playerDone.signal() }
            Self.play(jitter: jitter, device: playback, paced: paced, shared: shared)
        }
        player.name = "moshi-client-play"
        receiver.start()
        player.start()

        // Capture and send on this thread.
        var sendError: (any Error)?
        do {
            let encoder = try OpusEncoder(sampleRate: FrameTiming.sampleRate, channelCount: 1, application: .voip)
            try encoder.setBitrate(32_000)
            var frame = [Float](repeating: 0, count: Self.packetSamples)
            let limit = maxSeconds.map { Int(($0 * Double(FrameTiming.sampleRate) / Double(Self.packetSamples)).rounded(.up)) }
            var deadline = MonotonicTime.nanoseconds()
            var sent = 0
            while !shouldStop(), !shared.receiverFinished.load(ordering: .acquiring), limit.map({ sent < $0 }) ?? true {
                try frame.withUnsafeMutableBufferPointer { try capture.read(into: $0) }
                if !paced {
                    deadline += 20_000_000
                    Self.sleep(until: deadline)
                }
                try client.send(.audio, payload: try encoder.encode(frame))
                sent += 1
                shared.packetsSent.store(sent, ordering: .relaxed)
            }
        } catch {
            sendError = error
        }
        try? capture.discard()
        client.finishSending()
        if receiverDone.wait(timeout: .now() + endOfStreamTimeout) == .timedOut {
            client.abort()
            receiverDone.wait()
        }
        // What is queued plays out (at most the jitter buffer's capacity), then the device drains.
        playerDone.wait()

        var summary = Summary()
        summary.packetsSent = shared.packetsSent.load(ordering: .relaxed)
        summary.packetsReceived = shared.packetsReceived.load(ordering: .relaxed)
        summary.framesWritten = shared.framesWritten.load(ordering: .relaxed)
        let counters = jitter.counters
        summary.underflows = counters.underflows
        summary.dropped = counters.dropped
        summary.captureXruns = capture.xrunCount
        summary.playbackXruns = playback.xrunCount
        summary.endOfStream = shared.endOfStream.load(ordering: .relaxed)
        summary.serverError = shared.serverError.withLock { $0 }
        if let sendError, summary.serverError == nil, !summary.endOfStream { throw sendError }
        return summary
    }

    /// The player: one 80 ms frame per device period (or per 80 ms of the clock for unpaced
    /// devices): the next packet decoded, Opus PLC when the buffer ran dry, silence before the
    /// first packet; stops when the buffer says the stream ended, then drains the device.
    private static func play(jitter: PlaybackJitterBuffer<[UInt8]>, device: PCMDevice, paced: Bool, shared: SharedState) {
        let frameSize = FrameTiming.samplesPerFrame
        guard let decoder = try? OpusDecoder(sampleRate: FrameTiming.sampleRate, channelCount: 1) else { return }
        var pcm = [Float](repeating: 0, count: max(decoder.maximumFrameSize, frameSize))
        var pending: [Float] = []
        pending.reserveCapacity(4 * frameSize)
        var decodedAny = false
        var deadline = MonotonicTime.nanoseconds()
        loop: while true {
            switch jitter.next() {
            case .play(let packet):
                let n = (try? packet.withUnsafeBufferPointer { p in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(p, into: $0) } }) ?? 0
                if n > 0 {
                    pending += pcm[0..<n]
                    decodedAny = true
                } else {
                    pending += repeatElement(0, count: frameSize)
                }
            case .conceal:
                let n = decodedAny ? ((try? pcm.withUnsafeMutableBufferPointer { try decoder.decodeMissing(frameSize: frameSize, into: $0) }) ?? 0) : 0
                if n > 0 { pending += pcm[0..<n] } else { pending += repeatElement(0, count: frameSize) }
            case .wait:
                pending += repeatElement(0, count: frameSize)
            case .ended:
                break loop
            }
            while pending.count >= frameSize {
                let ok = (try? pending.withUnsafeBufferPointer { try device.write(UnsafeBufferPointer(rebasing: $0[0..<frameSize])) }) != nil
                pending.removeFirst(frameSize)
                if !ok { break loop }
                shared.framesWritten.add(1, ordering: .relaxed)
                if !paced {
                    deadline += UInt64(FrameTiming.frameDurationNanoseconds)
                    sleep(until: deadline)
                }
            }
        }
        try? device.drain()
    }

    private static func sleep(until uptimeNanoseconds: UInt64) {
        let now = MonotonicTime.nanoseconds()
        if uptimeNanoseconds > now { usleep(UInt32(min((uptimeNanoseconds - now) / 1000, 1_000_000))) }
    }

    /// What the three threads share.
    private final class SharedState: Sendable {
        let packetsSent = Atomic<Int>(0)
        let packetsReceived = Atomic<Int>(0)
        let framesWritten = Atomic<Int>(0)
        let endOfStream = Atomic<Bool>(false)
        let receiverFinished = Atomic<Bool>(false)
        let serverError = Mutex<String?>(nil)
    }
}
