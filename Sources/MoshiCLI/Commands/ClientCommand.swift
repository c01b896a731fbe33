import MoshiClient
import ArgumentParser
import AudioIO
import Engine
import Foundation
import Server

/// `moshi client HOST:PORT`: the reference client of the framed protocol. File mode sends a
/// recording (20 ms Opus packets, in real time unless --fast) and writes the model's reply;
/// microphone mode (`--mic`) sends the ALSA microphone and plays the reply on the speaker
/// through a jitter buffer. The model's words are printed as they come.
struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Talk to `moshi serve` over the framed protocol: a recording or the microphone in, the reply out.",
        discussion: """
            Examples: moshi client 127.0.0.1:8998 --input talk.wav --output reply.wav
                      moshi client 127.0.0.1:8998 --mic    (Ctrl-C ends the conversation)
            With --mic the ALSA devices are `default` unless --input-device / --output-device name \
            others; the reply starts playing once 160 ms of it are buffered.
            """
    )

    @Argument(help: ArgumentHelp("The server.", valueName: "host:port"))
    var address: String

    @Option(help: ArgumentHelp("The user's audio (WAV or Ogg Opus).", valueName: "talk.wav"))
    var input: String?

    @Option(help: ArgumentHelp("Where to write the model's reply (.wav or .ogg).", valueName: "reply.wav"))
    var output: String?

    @Flag(help: "Send as fast as the server takes it instead of in real time.")
    var fast = false

    @Option(help: "Sampling seed for this conversation.")
    var seed: UInt64?

    @Option(help: "Audio sampling temperature for this conversation.")
    var temp: Float?

    @Option(name: .customLong("temp-text"), help: "Text sampling temperature for this conversation.")
    var tempText: Float?

    @Option(help: ArgumentHelp("The server's token (server.auth_token), when it needs one; default: $MOSHI_AUTH_TOKEN.", valueName: "token"))
    var token: String?

    @Flag(help: "Microphone and speaker mode: talk into the ALSA microphone, hear the reply on the speaker.")
    var mic = false

    @Option(name: .customLong("input-device"), help: ArgumentHelp("ALSA capture device for --mic.", valueName: "name"))
    var inputDevice = "default"

    @Option(name: .customLong("output-device"), help: ArgumentHelp("ALSA playback device for --mic.", valueName: "name"))
    var outputDevice = "default"

    @Option(name: .customLong("alsa-config"), help: ArgumentHelp("An ALSA configuration file defining the devices, instead of the system's.", valueName: "file"))
    var alsaConfig: String?

    @Option(help: ArgumentHelp("With --mic: stop after this many seconds (default: until Ctrl-C).", valueName: "seconds"))
    var duration: Double?

    @Flag(name: .customLong("unpaced-devices"), help: .hidden)
    var unpacedDevices = false

    func validate() throws {
        _ = try Self.split(address)
        if mic {
            if input != nil || output != nil { throw ValidationError("--mic takes no --input or --output (those are file mode)") }
            if let duration, !(duration > 0 && duration.isFinite) { throw ValidationError("--duration must be a positive number of seconds") }
            return
        }
        if duration != nil || alsaConfig != nil || unpacedDevices { throw ValidationError("--duration and --alsa-config go with --mic") }
        if input == nil || output == nil { throw ValidationError("give --input and --output (file mode), or --mic") }
    }

    static func split(_ address: String) throws -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("\(address): expected HOST:PORT, e.g. 127.0.0.1:8998")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    func run() throws {
        let (host, port) = try Self.split(address)
        let token = self.token ?? ProcessInfo.processInfo.environment["MOSHI_AUTH_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let options = SessionOptions(textTemperature: tempText, audioTemperature: temp, seed: seed, token: token)
        if mic {
            try runMicrophone(host: host, port: port, options: options)
            return
        }
        guard let input, let output else { return }
        let samples = try AudioFile.readMono24k(input)
        let reply = try Self.converse(host: host, port: port, samples: samples, options: options, realTime: !fast) { piece in
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        if let error = reply.error { throw ValidationError("server: \(error)") }
        try AudioFile.write(output, samples: reply.samples, sampleRate: FrameTiming.sampleRate)
        FileHandle.standardError.write(Data(String(format: "\nreply: %.2f s of audio in %d packets written to %@\n",
                                                   Double(reply.samples.count) / Double(FrameTiming.sampleRate), reply.packets, output).utf8))
    }

    /// Microphone mode: until Ctrl-C (SIGINT), `--duration` or the server's end; then end of
    /// input, the server's end-of-stream awaited (5 s at most), and a status line on stderr.
    func runMicrophone(host: String, port: Int, options: SessionOptions) throws {
        var session = ClientMicSession(host: host, port: port, options: options)
        session.inputDevice = inputDevice
        session.outputDevice = outputDevice
        session.devicesPaced = !unpacedDevices
        session.maxSeconds = duration
        if let alsaConfig {
            let text: String
            do { text = try String(contentsOfFile: alsaConfig, encoding: .utf8) } catch {
                throw ValidationError("cannot read \(alsaConfig): \(error.localizedDescription)")
            }
            session.alsaConfiguration = try ALSAConfiguration(text: text)
        }
        let interrupted = StopRequest()
        let signals = try SignalWatcher([SIGINT, SIGTERM]) { _ in interrupted.request() }
        defer { signals.cancel() }
        let summary = try session.run(shouldStop: { interrupted.isRequested }) { piece in
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        FileHandle.standardOutput.write(Data("\n".utf8))
        FileHandle.standardError.write(Data((summary.statusLine + "\n").utf8))
        if let error = summary.serverError { throw ValidationError("server: \(error)") }
    }

    /// What a conversation gave back.
    struct Reply {
        var samples: [Float] = []
        var packets = 0
        var text = ""
        var error: String?
    }

    /// Holds one conversation: sends `samples` as 20 ms Opus packets, collects the reply until
    /// the server closes.
    static func converse(host: String, port: Int, samples: [Float], options: SessionOptions, realTime: Bool,
                         onText: @escaping @Sendable (String) -> Void) throws -> Reply {
        let client = try FramedClient(host: host, port: port, options: options)
        guard let first = try client.receive() else { throw ValidationError("the server closed the connection at once") }
        if first.kind == .error { return Reply(error: first.text) }
        guard first.kind == .handshake else { throw ValidationError("expected the server's handshake, got \(first.kind)") }

        let sender = Thread {
            do {
                let encoder = try OpusEncoder(sampleRate: FrameTiming.sampleRate, channelCount: 1, application: .voip)
                try encoder.setBitrate(32_000)
                let packetSize = OpusFrameDuration.ms20.samples(atRate: FrameTiming.sampleRate)
                let start = Date()
                var offset = 0
                var index = 0
                while offset < samples.count {
                    var frame = Array(samples[offset..<min(offset + packetSize, samples.count)])
                    frame += [Float](repeating: 0, count: packetSize - frame.count)
                    try client.send(.audio, payload: try encoder.encode(frame))
                    offset += packetSize
                    index += 1
                    if realTime {
                        let due = start.addingTimeInterval(Double(index) * 0.02)
                        let wait = due.timeIntervalSinceNow
                        if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                    }
                }
            } catch {}
            client.finishSending()
        }
        sender.start()

        var reply = Reply()
        let decoder = try OpusDecoder(sampleRate: FrameTiming.sampleRate, channelCount: 1)
        var pcm = [Float](repeating: 0, count: decoder.maximumFrameSize)
        while let message = try client.receive() {
            switch message.kind {
            case .audio:
                let n = try message.payload.withUnsafeBufferPointer { packet in
                    try pcm.withUnsafeMutableBufferPointer { try decoder.decode(packet, into: $0) }
                }
                reply.samples += pcm[0..<n]
                reply.packets += 1
            case .text:
                reply.text += message.text
                onText(message.text)
            case .error:
                reply.error = message.text
            default:
                break
            }
        }
        return reply
    }
}
