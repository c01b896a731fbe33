import ArgumentParser
import AudioIO
import Engine
import Foundation
import Settings

/// `moshi profile`: runs the real-time pipeline (capture → Mimi encode → LM → Mimi decode →
/// playback queue) on the built-in speech sample, a file or the microphone, and reports the
/// latency of every stage (HdrHistogram p50/p90/p99/max), the end-to-end latency, the
/// real-time factor and the deadline misses: a table, and on request JSON, a Chrome trace and
/// an HTML page. With no arguments it runs the synthetic model on the built-in sample in real
/// time: no download needed. Docs/LATENCY.md defines every figure.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Profile the real-time pipeline's latency, stage by stage.",
        discussion: """
            With no arguments: the built-in speech sample through the synthetic model, paced in \
            real time (about 10 s). --fast runs as fast as possible instead; --frames N runs N \
            frames (the input repeats). --mic captures from the microphone (ALSA `default`, or the \
            device named right after --mic) until --frames or Ctrl-C. The table goes to stdout; \
            --json - prints the JSON there instead.
            """
    )

    @Option(help: ArgumentHelp("Audio to feed: WAV (any rate, channels) or Ogg Opus. Default: the built-in speech sample.", valueName: "file"))
    var input: String?

    @Flag(help: ArgumentHelp("Capture from a microphone: ALSA `default`, or the device named after it (--mic hw:1,0).", valueName: "device"))
    var mic = false

    @Argument(help: .hidden)
    var micDevice: String?

    @Flag(help: "As fast as possible instead of real time (nothing is dropped; late = compute over 80 ms).")
    var fast = false

    @Option(help: ArgumentHelp("Frames of 80 ms to run (the input repeats if shorter).", valueName: "n"))
    var frames: Int?

    @Option(help: ArgumentHelp("Write the report as one JSON object (- for stdout).", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Write a Chrome trace (chrome://tracing, ui.perfetto.dev): one span per stage per frame.", valueName: "file"))
    var trace: String?

    @Option(help: ArgumentHelp("Write a self-contained HTML report with the per-frame latency plot.", valueName: "file.html"))
    var report: String?

    @Option(help: ArgumentHelp("Write the model's audio to a WAV file.", valueName: "file.wav"))
    var output: String?

    @OptionGroup var loopOptions: LoopOptions

    @Option(name: .customLong("deadline-slack-ms"), help: ArgumentHelp("Slack added to the 80 ms deadline before a frame counts as late.", valueName: "ms"))
    var deadlineSlackMs = 0.0

    @Option(help: ArgumentHelp("Silent frames run before profiling starts.", valueName: "n"))
    var warmup = 3

    @OptionGroup var model: ModelOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if micDevice != nil && !mic { throw ValidationError("unexpected argument '\(micDevice!)' (a device name goes after --mic)") }
        if mic && input != nil { throw ValidationError("--mic and --input are exclusive") }
        if mic && fast { throw ValidationError("--fast cannot pace a microphone") }
        if let frames, !(1...10_000_000).contains(frames) { throw ValidationError("--frames must be 1...10000000") }
        guard deadlineSlackMs >= 0, deadlineSlackMs <= 10_000 else { throw ValidationError("--deadline-slack-ms must be 0...10000") }
        guard (0...1000).contains(warmup) else { throw ValidationError("--warmup must be 0...1000") }
        if let output, (try? AudioFileKind(path: output)) != .wav { throw ValidationError("--output \(output): the reply is streamed as WAV; name it .wav") }
    }

    func run() throws {
        let settings = try global.loadSettings()
        let policy = loopOptions.policy(settings)
        let source = try makeSource()  // before the model: a missing device or file fails fast
        let loaded = try LoadedModel(options: model, settings: settings, defaultToSynthetic: true) { Self.say($0) }
        let session = try loaded.session()
        let sink: AudioSink = output.map { WAVFileSink(path: $0) } ?? NullSink()
        var configuration = FrameLoopConfiguration()
        configuration.pacing = fast ? .asFastAsPossible : .realTime
        configuration.latePolicy = policy
        configuration.deadlineSlackNanoseconds = UInt64(deadlineSlackMs * 1e6)
        configuration.maxFrames = frames
        configuration.warmupFrames = warmup
        configuration.realtimePriority = !loopOptions.noRealtimePriority
        configuration.computeRealtimePriority = loopOptions.realtimeCompute
        configuration.queueCapacity = max(32, Self.bound(policy) + 2)
        if let frames { configuration.recordCapacity = max(frames, 1) }

        let loop = try FrameLoop(source: source, processor: session, sink: sink, configuration: configuration,
                                 textDecoder: loaded.textDecoder(), processorDescription: loaded.summary(of: session))
        let pacing = fast ? "as fast as possible" : "in real time"
        Self.say("profiling \(source.description) \(pacing)\(frames.map { ", \($0) frames" } ?? "")\(mic ? "; Ctrl-C ends" : "")")
        let interrupts = try SignalWatcher([SIGINT, SIGTERM]) { _ in loop.requestStop() }
        var result = try loop.run()
        interrupts.cancel()
        if let note = Self.weightsNote(model) { result.notes.append(note) }
        try Self.write(result, json: json, trace: trace, report: report)
        if !result.failures.isEmpty { throw ExitCode.failure }
    }

    private func makeSource() throws -> AudioSource {
        let repeats = frames != nil
        if mic { return try ALSACaptureSource(name: micDevice ?? "default") }
        if let input { return try SampleBufferSource(file: input, repeats: repeats) }
        return try SampleBufferSource.builtInSpeech(repeats: repeats)
    }

    /// The caveat for weights that are not a trained model's.
    static func weightsNote(_ model: ModelOptions) -> String? {
        if model.random { return "the weights are random: the audio is noise, the timings are real" }
        let real = model.lm != nil || model.mimi != nil || model.modelDir != nil || model.hfRepo != nil
        return real ? nil : "the weights are synthetic: the audio is noise, the timings are real"
    }

    private static func bound(_ policy: LatePolicy) -> Int {
        switch policy {
        case .dropOldest(let n), .growLatency(let n): n
        }
    }

    /// The table to stdout (stderr when the JSON goes to stdout) and the requested files.
    static func write(_ report: ProfileReport, json: String?, trace: String?, report html: String?) throws {
        if json == "-" {
            FileHandle.standardError.write(Data(report.table().utf8))
            print(report.json(), terminator: "")
        } else {
            print(report.table(), terminator: "")
        }
        for (path, text, what) in [(json, report.json(), "JSON"), (trace, report.chromeTrace(), "trace"), (html, report.html(), "HTML report")] {
            guard let path, path != "-" else { continue }
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch {
                throw ValidationError("cannot write \(path): \(error.localizedDescription)")
            }
            say("wrote \(what) to \(path)")
        }
    }

    /// A progress line on stderr.
    static func say(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
