import ArgumentParser
import Mimi

/// `moshi codec roundtrip IN.wav -o OUT.wav`: encode and decode frame by frame, as a
/// conversation does, and write what the other side would hear.
struct CodecRoundtripCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roundtrip",
        abstract: "Encode an audio file to Mimi codes and decode them again (24 kHz mono WAV out, same length as the input at 24 kHz).")

    @OptionGroup var weights: CodecWeightsOptions

    @Option(help: "Codebooks per frame (1 semantic + N-1 acoustic, up to 32).")
    var codebooks = 8

    @Argument(help: "Input audio (WAV at any rate and channel count; .ogg/.opus also read).")
    var input: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Output WAV file.", valueName: "OUT.wav"))
    var output: String

    @Option(help: "Sample format of the WAV file: s16 or f32.")
    var sampleFormat: CodecSampleFormat = .s16

    func validate() throws {
        guard (1...32).contains(codebooks) else { throw ValidationError("--codebooks must be between 1 and 32") }
    }

    func run() throws {
        let audio = try CodecStreaming.readAudio(input)
        let mimi = try weights.load(codebooks: codebooks)
        let codes = CodecStreaming.encode(audio, encoder: MimiEncoder(weights: mimi))
        let decoded = try CodecStreaming.decode(codes, decoder: MimiDecoder(weights: mimi))
        try CodecStreaming.writeWAV(Array(decoded.prefix(audio.count)), to: output, format: sampleFormat)
        print("\(input): \(audio.count) samples at 24 kHz -> \(codes.frames) frames x \(codes.codebooks) codebooks -> \(output)")
    }
}
