import ArgumentParser
import Foundation
import Mimi

/// `moshi codec decode CODES.npy -o OUT.wav`: Mimi codes to 24 kHz mono audio.
struct CodecDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode Mimi codes (.npy [codebooks, frames], any integer type) to a 24 kHz mono WAV file.")

    @OptionGroup var weights: CodecWeightsOptions

    @Argument(help: "Codes file (.npy).")
    var input: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Output audio: .wav, or .ogg/.opus for Ogg Opus (chosen by the extension).", valueName: "OUT.wav"))
    var output: String

    @Option(help: "Sample format of a WAV output: s16 or f32.")
    var sampleFormat: CodecSampleFormat = .s16

    func validate() throws {
        try CodecStreaming.checkOutputExtension(output)
    }

    func run() throws {
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: input)) } catch {
            throw CodecError("\(input): cannot read: \(error.localizedDescription)")
        }
        let codes: MimiCodes
        do { codes = try MimiCodes(npy: [UInt8](bytes)) } catch {
            throw CodecError("\(input): \(error)")
        }
        guard (1...32).contains(codes.codebooks) else {
            throw CodecError("\(input): \(codes.codebooks) codebooks (rows); Mimi has 1 to 32")
        }
        let decoder = MimiDecoder(weights: try weights.load(codebooks: codes.codebooks))
        let audio: [Float]
        do { audio = try CodecStreaming.decode(codes, decoder: decoder) } catch {
            throw CodecError("\(input): \(error)")
        }
        try CodecStreaming.writeAudio(audio, to: output, format: sampleFormat)
        print("\(input): \(codes.frames) frames x \(codes.codebooks) codebooks -> \(audio.count) samples at 24 kHz -> \(output)")
    }
}
