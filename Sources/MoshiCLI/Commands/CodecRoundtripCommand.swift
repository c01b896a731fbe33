import ArgumentParser
import Mimi
import Settings

/// `moshi codec roundtrip IN.wav -o OUT.wav`: encode and decode frame by frame, as a
/// conversation does, and write what the other side would hear.
struct CodecRoundtripCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roundtrip",
        abstract: "Encode an audio file to Mimi codes and decode them again (24 kHz mono WAV out, same length as the input at 24 kHz).")

    @OptionGroup var weights: CodecWeightsOptions

    @Option(help: "Codebooks per frame (1 semantic + N-1 acoustic, up to 32). Default: model.mimi_codebooks (8).")
    var codebooks: Int?

    @Argument(help: "Input audio (WAV at any rate and channel count; .ogg/.opus also read).")
    var input: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Output audio: .wav, or .ogg/.opus for Ogg Opus (chosen by the extension).", valueName: "OUT.wav"))
    var output: String

    @Option(help: "Sample format of a WAV output: s16 or f32.")
    var sampleFormat: CodecSampleFormat = .s16

    func validate() throws {
        if let codebooks, let problem = SettingsCatalog.mimiCodebooks.problem(with: codebooks) { throw ValidationError("--codebooks \(codebooks): \(problem)") }
        try CodecStreaming.checkOutputExtension(output)
    }

    func run() throws {
        let audio = try CodecStreaming.readAudio(input)
        let mimi = try weights.load(codebooks: codebooks ?? weights.global.loadSettings()[SettingsCatalog.mimiCodebooks])
        let codes = CodecStreaming.encode(audio, encoder: MimiEncoder(weights: mimi))
        let decoded = try CodecStreaming.decode(codes, decoder: MimiDecoder(weights: mimi))
        try CodecStreaming.writeAudio(Array(decoded.prefix(audio.count)), to: output, format: sampleFormat)
        print("\(input): \(audio.count) samples at 24 kHz -> \(codes.frames) frames x \(codes.codebooks) codebooks -> \(output)")
    }
}
