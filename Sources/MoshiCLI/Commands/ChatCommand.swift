import ArgumentParser
import AudioIO
import Engine
import Foundation
import Settings

/// `moshi chat`: a live voice conversation with the model on this machine's microphone and
/// speakers (ALSA `default`, or the devices named): the model's words printed as it speaks, a
/// one-line status (latency, late frames, xruns), `--aec` for speakers, `--record` for a stereo
/// WAV of both sides; Ctrl-C ends cleanly.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with the model through the microphone and speakers.",
        discussion: """
            Uses the ALSA devices `default` unless --input-device / --output-device name others \
            (see `moshi devices`). Use headphones, or --aec to cancel the speakers' echo. Ctrl-C \
            ends the conversation; the latency summary follows.
            """
    )

    @Option(name: .customLong("input-device"), help: ArgumentHelp("ALSA capture device.", valueName: "name"))
    var inputDevice = "default"

    @Option(name: .customLong("output-device"), help: ArgumentHelp("ALSA playback device.", valueName: "name"))
    var outputDevice = "default"

    @Flag(help: "Cancel the echo of the speakers in the microphone signal (speexdsp).")
    var aec = false

    @Option(help: ArgumentHelp("Record the conversation to a stereo WAV file (left: you, right: the model).", valueName: "file.wav"))
    var record: String?

    @Option(help: ArgumentHelp("End after this many seconds.", valueName: "seconds"))
    var duration: Double?

    @OptionGroup var loopOptions: LoopOptions

    @Option(name: .customLong("alsa-config"), help: ArgumentHelp("An ALSA configuration file defining the devices, instead of the system's.", valueName: "file"))
    var alsaConfig: String?

    @Flag(name: .customLong("unpaced-devices"), help: .hidden)
    var unpacedDevices = false

    @Flag(help: "No live text or status; only the summary at the end.")
    var quiet = false

    @OptionGroup var model: ModelOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let duration { guard duration > 0, duration <= 86_400 else { throw ValidationError("--duration must be in (0, 86400] seconds") } }
        if let record, (try? AudioFileKind(path: record)) != .wav { throw ValidationError("--record \(record): the recording is streamed as WAV; name it .wav") }
    }

    func run() throws {
        let settings = try global.loadSettings()
        let policy = loopOptions.policy(settings)
        var session = ChatSession(inputDevice: inputDevice, outputDevice: outputDevice)
        if let alsaConfig {
            let text: String
            do { text = try String(contentsOfFile: alsaConfig, encoding: .utf8) } catch {
                throw ValidationError("cannot read \(alsaConfig): \(error.localizedDescription)")
            }
            session.alsaConfiguration = try ALSAConfiguration(text: text)
        }
        session.devicesPaced = !unpacedDevices
        session.echoCancellation = aec
        session.recordPath = record
        session.maxFrames = duration.map { max(1, Int(($0 * 1e9 / Double(FrameTiming.frameDurationNanoseconds)).rounded())) }
        session.latePolicy = policy
        session.realtimePriority = !loopOptions.noRealtimePriority
        session.computeRealtimePriority = loopOptions.realtimeCompute

        let display = ChatDisplay(quiet: quiet)
        let devices = try session.openDevices()  // before the model: a missing device fails fast
        let loaded = try LoadedModel(options: model, settings: settings) { display.note($0) }
        let conversation = try loaded.session()
        let describe = loaded.summary(of: conversation)
        display.note(describe)
        let loop = try session.makeLoop(devices: devices, processor: conversation,
                                        textDecoder: loaded.textDecoder(), describe: describe)
        display.note("listening on \(loop.source.description), speaking on \(loop.sink.description)"
                     + (record.map { ", recording to \($0)" } ?? "") + "; Ctrl-C ends")
        let interrupts = try SignalWatcher([SIGINT, SIGTERM]) { _ in loop.requestStop() }
        let report = try loop.run { display.show($0) }
        interrupts.cancel()
        display.finish()
        FileHandle.standardError.write(Data(report.table().utf8))
        if let record { display.note("recorded \(String(format: "%.1f", report.audioSeconds)) s to \(record)") }
        if !report.failures.isEmpty { throw ExitCode.failure }
    }
}

/// The chat command's logic apart from arguments and terminal: which devices, with what
/// options, in one frame loop. Tests drive it with ALSA `file`/`null` plugin devices.
struct ChatSession {
    var inputDevice: String
    var outputDevice: String
    /// Devices are looked up here instead of in the system's ALSA configuration.
    var alsaConfiguration: ALSAConfiguration?
    /// Whether the devices keep real time (sound cards). ALSA's file plugins do not: the
    /// loop then paces capture on its clock and the speaker gets one frame per captured frame.
    var devicesPaced = true
    var echoCancellation = false
    var recordPath: String?
    var maxFrames: Int?
    var latePolicy = LatePolicy.default
    var realtimePriority = true
    var computeRealtimePriority = false
    var clock: FrameClock = MonotonicClock()

    /// Opens the capture and playback devices.
    func openDevices() throws -> (source: ALSACaptureSource, sink: ALSAPlaybackSink) {
        (try ALSACaptureSource(name: inputDevice, alsaConfiguration: alsaConfiguration, devicePaced: devicesPaced),
         try ALSAPlaybackSink(name: outputDevice, alsaConfiguration: alsaConfiguration, devicePaced: devicesPaced))
    }

    /// Builds the loop over the devices (`openDevices()` when not given); the recorder's file is
    /// created when the loop runs.
    func makeLoop(devices: (source: ALSACaptureSource, sink: ALSAPlaybackSink)? = nil, processor: FrameProcessor,
                  textDecoder: TextTokenDecoder?, describe: String) throws -> FrameLoop {
        let (source, sink) = try devices ?? openDevices()
        var configuration = FrameLoopConfiguration()
        configuration.latePolicy = latePolicy
        configuration.maxFrames = maxFrames
        configuration.warmupFrames = 3
        configuration.realtimePriority = realtimePriority
        configuration.computeRealtimePriority = computeRealtimePriority
        configuration.recordCapacity = 4096
        // The echo canceller's filter covers the playback buffer (4 periods) plus the room.
        let echoCanceller = echoCancellation ? try EchoCanceller(sampleRate: FrameTiming.sampleRate, frameSize: 480, filterLength: 4800) : nil
        return try FrameLoop(source: source, processor: processor, sink: sink, configuration: configuration, clock: clock,
                             textDecoder: textDecoder, recorder: recordPath.map { StereoRecorder(path: $0) },
                             echoCanceller: echoCanceller, processorDescription: describe)
    }
}

/// The terminal side of `moshi chat`. On a terminal: the model's words scroll above a status
/// line (latency, late frames, xruns) redrawn in place. Otherwise: words to stdout as they
/// come, a status line on stderr every 5 seconds.
final class ChatDisplay {
    private let quiet: Bool
    private let interactive: Bool
    private var line = ""
    private var status = ""
    private var lastPlainStatus = Date.distantPast

    init(quiet: Bool) {
        self.quiet = quiet
        interactive = isatty(STDOUT_FILENO) == 1 && isatty(STDERR_FILENO) == 1
    }

    /// A progress or information line on stderr.
    func note(_ text: String) {
        if interactive && !status.isEmpty { clearLine() }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func show(_ event: FrameLoopEvent) {
        guard !quiet else { return }
        switch event {
        case .text(let piece, _):
            if interactive {
                line += piece
                if line.count > 72 || piece.contains("\n") { commitLine() }
                redraw()
            } else {
                FileHandle.standardOutput.write(Data(piece.utf8))
            }
        case .status(let s):
            let latency = s.processedFrames > 0 ? String(format: "%.0f ms", 2 * Double(FrameTiming.frameDurationNanoseconds) / 1e6 + s.lastLatencyMilliseconds) : "-"
            status = "[latency \(latency) · late \(s.lateFrames) · dropped \(s.droppedFrames) · xruns \(s.xruns) · \(String(format: "%.0f", s.elapsedSeconds)) s]"
            if interactive {
                redraw()
            } else if Date().timeIntervalSince(lastPlainStatus) >= 5 {
                lastPlainStatus = Date()
                FileHandle.standardError.write(Data((status + "\n").utf8))
            }
        case .frame:
            break
        }
    }

    func finish() {
        guard !quiet else { return }
        if interactive {
            clearLine()
            if !line.isEmpty { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        } else {
            FileHandle.standardOutput.write(Data("\n".utf8))
        }
    }

    private func commitLine() {
        clearLine()
        FileHandle.standardOutput.write(Data((line.trimmingCharacters(in: .whitespacesAndNewlines) + "\n").utf8))
        line = ""
    }

    private func clearLine() { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }

    private func redraw() {
        clearLine()
        FileHandle.standardError.write(Data("\(status) \(line)".utf8))
    }
}
