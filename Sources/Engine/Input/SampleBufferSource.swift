import AudioIO

/// Audio held in memory, served frame by frame: a WAV or Ogg Opus file read at start-up, the
/// built-in speech sample, or samples a test made. Not device-paced: the loop decides the pace.
package final class SampleBufferSource: AudioSource {
    package let description: String
    /// The 24 kHz mono samples served.
    package let samples: [Float]
    /// Whether it starts over at the end instead of ending (for runs longer than the audio).
    package let repeats: Bool
    /// Frames in one pass over the samples (the last one padded with silence).
    package var frameCount: Int { (samples.count + FrameTiming.samplesPerFrame - 1) / FrameTiming.samplesPerFrame }

    private var position = 0

    /// Serves `samples` (24 kHz mono), once or over and over.
    package init(samples: [Float], description: String = "samples", repeats: Bool = false) {
        self.samples = samples
        self.description = description
        self.repeats = repeats && !samples.isEmpty
    }

    /// Reads `path` (WAV of any rate and channel count, or Ogg Opus) as 24 kHz mono.
    package convenience init(file path: String, repeats: Bool = false) throws {
        self.init(samples: try AudioFile.readMono24k(path), description: "file \(path)", repeats: repeats)
    }

    /// The built-in speech sample (`BuiltInSpeechSample`).
    package static func builtInSpeech(repeats: Bool = false) throws -> SampleBufferSource {
        SampleBufferSource(samples: try BuiltInSpeechSample.samples(), description: "built-in speech sample", repeats: repeats)
    }

    package var isDevicePaced: Bool { false }

    package func start() throws { position = 0 }

    package func read(into frame: UnsafeMutablePointer<Float>) throws -> Bool {
        let frameSize = FrameTiming.samplesPerFrame
        if position >= samples.count {
            guard repeats else { return false }
            position = 0
        }
        let available = min(frameSize, samples.count - position)
        samples.withUnsafeBufferPointer { all in
            frame.update(from: all.baseAddress! + position, count: available)
        }
        if available < frameSize {
            (frame + available).update(repeating: 0, count: frameSize - available)
        }
        position += frameSize
        return true
    }
}
