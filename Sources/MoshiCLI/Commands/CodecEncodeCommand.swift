import ArgumentParser
import Foundation
import Mimi
import Settings

/// `moshi codec encode IN.wav -o CODES.npy`: audio to Mimi codes.
struct CodecEncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode an audio file to Mimi codes (.npy, int32 [codebooks, frames]).")

    @OptionGroup var weights: CodecWeightsOptions

    @Option(help: "Codebooks per frame (1 semantic + N-1 acoustic, up to 32). Default: model.mimi_codebooks (8).")
    var codebooks: Int?

    @Argument(help: "Input audio (WAV at any rate and channel count; .ogg/.opus also read).")
    var input: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Output codes file.", valueName: "CODES.npy"))
    var output: String

    func validate() throws {
        if let codebooks, let problem = SettingsCatalog.mimiCodebooks.problem(with: codebooks) { throw ValidationError("--codebooks \(codebooks): \(problem)") }
    }

    func run() throws {
        let audio = try CodecStreaming.readAudio(input)
        let encoder = MimiEncoder(weights: try weights.load(codebooks: codebooks ?? weights.global.loadSettings()[SettingsCatalog.mimiCodebooks]))
        let codes = CodecStreaming.encode(audio, encoder: encoder)
        do {
            try Data(codes.npyBytes()).write(to: URL(fileURLWithPath: output))
        } catch {
            throw CodecError("\(output): cannot write: \(error.localizedDescription)")
        }
        print("\(input): \(audio.count) samples at 24 kHz -> \(codes.frames) frames x \(codes.codebooks) codebooks -> \(output)")
    }
}
