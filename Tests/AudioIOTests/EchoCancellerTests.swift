import Foundation
import Testing
@testable import AudioIO

/// Measures speexdsp's echo canceller on a simulated speakerphone: the far end (what we play)
/// reaches the mic delayed by 30 ms, attenuated and coloured by a small room filter, while a
/// different near-end talker speaks during the first half.
@Suite struct EchoCancellerTests {
    struct Scene {
        var far: [Float]       // what the speakers play
        var echo: [Float]      // what the mic hears of it
        var near: [Float]      // the local talker as the mic hears them
        var mic: [Float] { zip(echo, near).map { $0 + $1 } }
        var usedEspeak: Bool
    }

    static func scene() -> Scene {
        let directory = TemporaryDirectory()
        let seconds = 12.0
        let count = Int(seconds * 24000) / 1920 * 1920
        var far = TestSignal.espeak(
            "The quick brown fox jumps over the lazy dog. Moshi listens and speaks at the same time, so what it says must not come back through the microphone. Echo cancellation learns the path from the loudspeaker to the microphone and subtracts it.",
            voice: "en", in: directory) ?? []
        var near = TestSignal.espeak("Hello, can you hear me? I am the person in the room, talking over the machine.", voice: "en+f3", in: directory) ?? []
        let usedEspeak = !far.isEmpty && !near.isEmpty
        if !usedEspeak {
            far = TestSignal.speechLike(sampleRate: 24000, seconds: seconds, seed: 21, pitch: 110)
            near = TestSignal.speechLike(sampleRate: 24000, seconds: seconds / 2, seed: 22, pitch: 210)
        }
        // Loop the far end to fill the scene; the near talker only in the first half.
        far = (0..<count).map { far[$0 % far.count] * 0.8 }
        near = Array(near.prefix(count / 2 - 2400)) + [Float](repeating: 0, count: count)
        near = (0..<count).map { near[$0] * 0.3 }
        // Echo path: 30 ms delay, 0.5 gain, a short room response.
        let delay = 720
        let taps: [(Int, Float)] = [(0, 0.5), (1, 0.2), (3, -0.1), (17, 0.08), (90, 0.05), (400, 0.03)]
        var echo = [Float](repeating: 0, count: count)
        for i in 0..<count {
            var sum: Float = 0
            for (lag, gain) in taps where i - delay - lag >= 0 { sum += gain * far[i - delay - lag] }
            echo[i] = sum
        }
        return Scene(far: far, echo: echo, near: near, usedEspeak: usedEspeak)
    }

    /// Runs the canceller over the scene in 80 ms model frames; returns its output.
    static func cancel(_ scene: Scene, canceller: EchoCanceller) throws -> [Float] {
        let mic = scene.mic
        var output = [Float](repeating: 0, count: mic.count)
        for start in stride(from: 0, to: mic.count, by: 1920) {
            try mic.withUnsafeBufferPointer { m in
                try scene.far.withUnsafeBufferPointer { f in
                    try output.withUnsafeMutableBufferPointer { o in
                        try canceller.process(capture: UnsafeBufferPointer(rebasing: m[start..<(start + 1920)]),
                                              playback: UnsafeBufferPointer(rebasing: f[start..<(start + 1920)]),
                                              into: UnsafeMutableBufferPointer(rebasing: o[start..<(start + 1920)]))
                    }
                }
            }
        }
        return output
    }

    /// Echo return loss enhancement over the second half, where only the echo reaches the mic:
    /// 10 log10(echo power / residual power).
    static func erle(_ scene: Scene, _ output: [Float]) -> Double {
        let half = output.count / 2
        return 10 * log10(Measure.power(scene.echo[half...]) / Measure.power(output[half...]))
    }

    @Test func linearCancellerRemovesAtLeast10dBOfEchoAndKeepsTheNearTalker() throws {
        let scene = Self.scene()
        let canceller = try EchoCanceller(sampleRate: 24000, frameSize: 480, filterLength: 2400)
        let output = try Self.cancel(scene, canceller: canceller)
        let erle = Self.erle(scene, output)
        // The near-end talker survives the double talk of the first half.
        let nearEnd = scene.near.count / 2 - 2400
        let kept = Measure.correlation(Array(output[24000..<nearEnd]), Array(scene.near[24000..<nearEnd]))
        print("EchoCanceller ERLE (linear, \(scene.usedEspeak ? "espeak-ng speech" : "synthetic speech"), second half): \(String(format: "%.1f", erle)) dB; near-talker correlation in double talk: \(String(format: "%.2f", kept))")
        #expect(erle >= 10, "ERLE \(erle) dB")
        #expect(kept > 0.5, "near-end correlation \(kept)")
        // Without a far-end signal, nothing is removed: the mic passes through (up to speexdsp's
        // DC-removal filter).
        let fresh = try EchoCanceller()
        let quiet = Scene(far: [Float](repeating: 0, count: scene.far.count), echo: [Float](repeating: 0, count: scene.far.count), near: scene.near, usedEspeak: scene.usedEspeak)
        let passed = try Self.cancel(quiet, canceller: fresh)
        #expect(Measure.correlation(passed, scene.near) > 0.95)
    }

    @Test func residualSuppressionRemovesMore() throws {
        let scene = Self.scene()
        let linear = Self.erle(scene, try Self.cancel(scene, canceller: try EchoCanceller()))
        let suppressed = Self.erle(scene, try Self.cancel(scene, canceller: try EchoCanceller(suppressResidualEcho: true)))
        print("EchoCanceller ERLE with residual suppression (speex_preprocess): \(String(format: "%.1f", suppressed)) dB (linear \(String(format: "%.1f", linear)) dB)")
        #expect(suppressed > linear + 3)
    }

    @Test func badSizesAreErrors() throws {
        #expect(throws: EchoCancellerError.self) { _ = try EchoCanceller(frameSize: 480, filterLength: 100) }
        #expect(throws: EchoCancellerError.self) { _ = try EchoCanceller(sampleRate: 1000) }
        let canceller = try EchoCanceller()
        let a = [Float](repeating: 0, count: 480), b = [Float](repeating: 0, count: 500)
        var out = [Float](repeating: 0, count: 500)
        #expect(throws: EchoCancellerError.self) {
            try a.withUnsafeBufferPointer { x in try b.withUnsafeBufferPointer { y in try out.withUnsafeMutableBufferPointer { try canceller.process(capture: x, playback: y, into: $0) } } }
        }
    }
}
