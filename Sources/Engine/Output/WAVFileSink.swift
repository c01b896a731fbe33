import AudioIO

/// The model's audio to a WAV file (24 kHz mono, 16-bit by default), written as it comes.
/// Not device-paced: it gets one frame per captured frame, aligned with the input.
package final class WAVFileSink: AudioSink {
    package let path: String
    package let encoding: WAVSampleFormat
    private var writer: WAVStreamWriter?

    /// Writes `path` (created at `start`, truncated if it exists).
    package init(path: String, encoding: WAVSampleFormat = .pcm16) {
        self.path = path
        self.encoding = encoding
    }

    package var description: String { "file \(path)" }
    package var isDevicePaced: Bool { false }
    /// Frames written so far.
    package var framesWritten: Int { (writer?.framesWritten ?? 0) / FrameTiming.samplesPerFrame }

    package func start() throws {
        do { writer = try WAVStreamWriter(path: path, encoding: encoding) } catch { throw AudioSinkError(target: path, message: error.description) }
    }

    package func write(_ frame: UnsafePointer<Float>) throws {
        guard let writer else { throw AudioSinkError(target: path, message: "written before start") }
        do { try writer.write(frame, frames: FrameTiming.samplesPerFrame) } catch { throw AudioSinkError(target: path, message: error.description) }
    }

    package func finish() throws {
        do { try writer?.close() } catch { throw AudioSinkError(target: path, message: error.description) }
    }
}
