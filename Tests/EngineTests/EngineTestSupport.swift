import AudioIO
import Foundation
@testable import Engine

/// A directory under /tmp removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-engine-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Test audio whose frames say which frame they are: every sample of frame k is
/// (k + 1) * 64 / 32768, exact in 16-bit WAV files.
enum MarkedFrames {
    static let frameSize = FrameTiming.samplesPerFrame

    static func value(forFrame index: Int) -> Float { Float((index + 1) * 64) / 32768 }

    static func samples(frames: Int) -> [Float] {
        (0..<frames).flatMap { [Float](repeating: value(forFrame: $0), count: frameSize) }
    }

    /// The frame a slot carries (-1 for silence), read from its first and last samples; nil when
    /// the slot is not one constant marker.
    static func marker(in samples: [Float], slot: Int) -> Int? {
        let frame = samples[(slot * frameSize)..<((slot + 1) * frameSize)]
        guard let first = frame.first, frame.allSatisfy({ $0 == first }) else { return nil }
        if first == 0 { return -1 }
        let scaled = first * 32768 / 64
        guard scaled == scaled.rounded(), scaled >= 1 else { return nil }
        return Int(scaled) - 1
    }

    static func writeWAV(frames: Int, to path: String) throws {
        try WAVFile(samples: samples(frames: frames), sampleRate: 24000).write(to: path)
    }
}

/// Like the model: returns nothing for its first frame and then each frame's predecessor (one
/// frame of delay). Takes `cost(frameNumber)` nanoseconds of the virtual clock per call (its
/// two stages share it: a quarter "copy", the rest "work"), and emits text token `n` every
/// `tokenEvery` calls.
final class DelayProcessor: FrameProcessor {
    let clock: VirtualClock?
    let cost: (Int) -> UInt64
    let tokenEvery: Int
    private(set) var calls = 0
    private let previous = UnsafeMutablePointer<Float>.allocate(capacity: FrameTiming.samplesPerFrame)
    private var hasPrevious = false

    init(clock: VirtualClock?, tokenEvery: Int = 0, cost: @escaping (Int) -> UInt64 = { _ in 10_000_000 }) {
        self.clock = clock
        self.cost = cost
        self.tokenEvery = tokenEvery
        previous.initialize(repeating: 0, count: FrameTiming.samplesPerFrame)
    }

    deinit { previous.deallocate() }

    var stageNames: [String] { ["copy", "work"] }

    func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                 stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
        let call = calls
        calls += 1
        let nanoseconds = cost(call)
        if let clock { clock.sleep(until: clock.now() + nanoseconds) }
        stageNanoseconds[0] = nanoseconds / 4
        stageNanoseconds[1] = nanoseconds - nanoseconds / 4
        let produced = hasPrevious
        if produced { output.update(from: previous, count: FrameTiming.samplesPerFrame) }
        previous.update(from: input, count: FrameTiming.samplesPerFrame)
        hasPrevious = true
        let token: Int32? = tokenEvery > 0 && call % tokenEvery == 0 ? Int32(call) : nil
        return FrameResult(producedAudio: produced, textToken: token)
    }

    func reset() {
        hasPrevious = false
        calls = 0
        previous.update(repeating: 0, count: FrameTiming.samplesPerFrame)
    }
}

/// A sound card in miniature on the virtual clock: playback starts with the first write and
/// consumes one frame per period; `write` blocks while `bufferFrames` frames are queued.
final class VirtualDeviceSink: AudioSink {
    let clock: VirtualClock
    let bufferFrames: Int
    private(set) var written: [Float] = []
    private(set) var writeTimes: [UInt64] = []
    private var firstWrite: UInt64?

    init(clock: VirtualClock, bufferFrames: Int = 2) {
        self.clock = clock
        self.bufferFrames = bufferFrames
        written.reserveCapacity(1 << 20)
        writeTimes.reserveCapacity(1024)
    }

    var description: String { "virtual device" }
    var isDevicePaced: Bool { true }

    func write(_ frame: UnsafePointer<Float>) throws {
        let n = writeTimes.count
        let start = firstWrite ?? clock.now()
        firstWrite = start
        if n >= bufferFrames { clock.sleep(until: start + UInt64(n - bufferFrames + 1) * FrameTiming.frameDurationNanoseconds) }
        writeTimes.append(clock.now())
        written.append(contentsOf: UnsafeBufferPointer(start: frame, count: FrameTiming.samplesPerFrame))
    }
}

/// A sink that fails on its `failAt`-th write.
final class FailingSink: AudioSink {
    let failAt: Int
    private(set) var writes = 0

    init(failAt: Int) { self.failAt = failAt }

    var description: String { "failing sink" }
    var isDevicePaced: Bool { false }

    func write(_ frame: UnsafePointer<Float>) throws {
        writes += 1
        if writes == failAt { throw AudioSinkError(target: "failing sink", message: "disk full") }
    }
}

extension FrameLoopConfiguration {
    /// Real-time pacing, no real-time priority (tests share the machine).
    static func test(_ policy: LatePolicy = .default, pacing: Pacing = .realTime) -> FrameLoopConfiguration {
        var configuration = FrameLoopConfiguration()
        configuration.latePolicy = policy
        configuration.pacing = pacing
        configuration.realtimePriority = false
        return configuration
    }
}

let ms: UInt64 = 1_000_000
let period = FrameTiming.frameDurationNanoseconds
