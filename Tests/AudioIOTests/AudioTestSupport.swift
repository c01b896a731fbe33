import Foundation
@testable import AudioIO

/// A deterministic pseudo-random generator (SplitMix64) for test signals.
struct TestRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in -1..<1.
    mutating func signed() -> Float { Float(Double(next() >> 11) / Double(1 << 52) - 1) }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

/// Test signals.
enum TestSignal {
    /// A sine of `frequency` Hz.
    static func sine(frequency: Double, sampleRate: Int, count: Int, amplitude: Float = 0.5) -> [Float] {
        (0..<count).map { amplitude * Float(sin(2 * Double.pi * frequency * Double($0) / Double(sampleRate))) }
    }

    /// A speech-like signal: a glottal pulse train with wandering pitch through two formant
    /// resonators, with syllable-rate (about 4 Hz) amplitude envelope and pauses, plus some
    /// fricative noise. Deterministic for a seed.
    static func speechLike(sampleRate: Int, seconds: Double, seed: UInt64, pitch: Double = 120) -> [Float] {
        var random = TestRandom(seed: seed)
        let count = Int(seconds * Double(sampleRate))
        var output = [Float](repeating: 0, count: count)
        var phase = 0.0
        // Two resonators (formants) whose centre frequencies change per syllable.
        var f1 = 500.0, f2 = 1500.0
        var y1 = (0.0, 0.0), y2 = (0.0, 0.0)
        let syllable = Int(0.25 * Double(sampleRate))
        var envelope = 0.0
        for i in 0..<count {
            if i % syllable == 0 {
                f1 = 300 + 500 * Double(random.signed() + 1) / 2
                f2 = 900 + 1600 * Double(random.signed() + 1) / 2
            }
            let position = Double(i % syllable) / Double(syllable)
            let voiced = (i / syllable) % 5 != 4  // every fifth syllable is a pause
            envelope = voiced ? sin(Double.pi * position) : envelope * 0.999
            let f0 = pitch * (1 + 0.15 * sin(2 * Double.pi * 0.7 * Double(i) / Double(sampleRate)))
            phase += f0 / Double(sampleRate)
            var excitation = 0.0
            if phase >= 1 { phase -= 1; excitation = 1 }
            excitation += 0.05 * Double(random.signed())
            let y1n = resonate(excitation, &y1, frequency: f1, bandwidth: 80, sampleRate: sampleRate)
            let y2n = resonate(excitation, &y2, frequency: f2, bandwidth: 120, sampleRate: sampleRate)
            output[i] = Float((y1n + 0.6 * y2n) * envelope)
        }
        let peak = output.map { abs($0) }.max() ?? 1
        return output.map { $0 / peak * 0.5 }
    }

    private static func resonate(_ x: Double, _ state: inout (Double, Double), frequency: Double, bandwidth: Double, sampleRate: Int) -> Double {
        let r = exp(-Double.pi * bandwidth / Double(sampleRate))
        let a1 = 2 * r * cos(2 * Double.pi * frequency / Double(sampleRate)), a2 = -r * r
        let y = (1 - r) * x + a1 * state.0 + a2 * state.1
        state = (y, state.0)
        return y
    }

    /// Speech from espeak-ng (`espeak-ng -w`), at 24 kHz mono, or nil when espeak-ng is absent.
    static func espeak(_ text: String, voice: String = "en", in directory: TemporaryDirectory) -> [Float]? {
        guard let tool = ExternalTool.path("espeak-ng") else { return nil }
        let path = directory.path("espeak-\(voice)-\(abs(text.hashValue)).wav")
        guard ExternalTool.run(tool, ["-v", voice, "-w", path, text]).status == 0 else { return nil }
        return try? AudioFile.readMono24k(path)
    }
}

/// A directory under /tmp removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-audio-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Running the real command-line tools the interop tests compare against.
enum ExternalTool {
    /// The tool's path on PATH, or nil.
    static func path(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func exists(_ name: String) -> Bool { path(name) != nil }

    /// Runs `tool` with `arguments`; returns the exit status and the combined output.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Signal measurements.
enum Measure {
    static func power(_ x: ArraySlice<Float>) -> Double {
        guard !x.isEmpty else { return 0 }
        return x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)
    }

    static func power(_ x: [Float]) -> Double { power(x[...]) }

    /// Normalized correlation of `a[i + lag]` with `b[i]` over their overlap.
    static func correlation(_ a: [Float], _ b: [Float], lag: Int = 0) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        let start = max(0, -lag), end = min(b.count, a.count - lag)
        guard end > start else { return 0 }
        for i in start..<end {
            let x = Double(a[i + lag]), y = Double(b[i])
            ab += x * y; aa += x * x; bb += y * y
        }
        return aa > 0 && bb > 0 ? ab / (aa * bb).squareRoot() : 0
    }

    /// The best normalized correlation over lags in `range` and the lag that gives it.
    static func bestCorrelation(_ a: [Float], _ b: [Float], lags range: ClosedRange<Int>) -> (correlation: Double, lag: Int) {
        var best = (correlation: -2.0, lag: 0)
        for lag in range {
            let c = correlation(a, b, lag: lag)
            if c > best.correlation { best = (c, lag) }
        }
        return best
    }

    /// The dominant frequency of `x` by zero-crossing count (for pure tones).
    static func zeroCrossingFrequency(_ x: ArraySlice<Float>, sampleRate: Int) -> Double {
        var crossings = 0
        var previous = x.first ?? 0
        for sample in x.dropFirst() {
            if (previous < 0) != (sample < 0) { crossings += 1 }
            previous = sample
        }
        return Double(crossings) / 2 / (Double(x.count) / Double(sampleRate))
    }
}
