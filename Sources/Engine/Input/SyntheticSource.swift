#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Generated audio for warm-up and tests: silence or a sine tone, endless or for a number of
/// frames. Not device-paced.
package final class SyntheticSource: AudioSource {
    /// What it generates.
    package enum Signal: Sendable, Equatable {
        case silence
        /// A sine of `frequency` Hz with peak `amplitude` (0...1).
        case tone(frequency: Double, amplitude: Float)
    }

    package let signal: Signal
    /// Frames it delivers before ending; nil for endless.
    package let frameLimit: Int?
    private var delivered = 0
    private var phase = 0.0

    package init(_ signal: Signal = .silence, frames: Int? = nil) {
        self.signal = signal
        self.frameLimit = frames.map { max(0, $0) }
    }

    package var description: String {
        switch signal {
        case .silence: "silence"
        case .tone(let frequency, let amplitude): "tone \(frequency) Hz at \(amplitude)"
        }
    }

    package var isDevicePaced: Bool { false }

    package func start() throws {
        delivered = 0
        phase = 0
    }

    package func read(into frame: UnsafeMutablePointer<Float>) throws -> Bool {
        if let frameLimit, delivered >= frameLimit { return false }
        delivered += 1
        switch signal {
        case .silence:
            frame.update(repeating: 0, count: FrameTiming.samplesPerFrame)
        case .tone(let frequency, let amplitude):
            let step = 2 * Double.pi * frequency / Double(FrameTiming.sampleRate)
            for i in 0..<FrameTiming.samplesPerFrame {
                frame[i] = amplitude * Float(sin(phase))
                phase += step
                if phase >= 2 * Double.pi { phase -= 2 * Double.pi }
            }
        }
        return true
    }
}
