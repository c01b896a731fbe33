/// The model's audio to a WAV file (24 kHz mono, 16-bit by default), written as it comes.
/// Not device-paced: it gets one frame per captured frame, aligned with the input.
public final class WAVFileSink: AudioSink {
    public let path: String
    public let encoding: WAVStreamWriter.Encoding
    private var writer: WAVStreamWriter?

    /// Writes `path` (created at `start`, truncated if it exists).
    public init(path: String, encoding: WAVStreamWriter.Encoding = .pcm16) {
        self.path = path
        self.encoding = encoding
    }

    public var description: String { "file \(path)" }
    public var isDevicePaced: Bool { false }
    /// Frames written so far.
    public var framesWritten: Int { (writer?.framesWritten ?? 0) / FrameTiming.samplesPerFrame }

    public func start() throws {
        writer = try WAVStreamWriter(path: path, encoding: encoding)
    }

    public func write(_ frame: UnsafePointer<Float>) throws {
        guard let writer else { throw AudioSinkError(target: path, message: "written before start") }
        try writer.write(frame, frames: FrameTiming.samplesPerFrame)
    }

    public func finish() throws {
        try writer?.close()
    }
}
