import ArgumentParser
import Weights

/// `moshi inspect FILE`: every tensor of a safetensors or GGUF file, and the totals.
/// A file that cannot be read gives one line naming the file and the problem, and exit code 1.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors of a safetensors or GGUF weight file.",
        discussion: "Prints the format, the metadata (GGUF values shortened), every tensor's name, dtype, shape and bytes, then the tensor count, total bytes and total parameter count."
    )

    @Argument(help: "A .safetensors or .gguf file.")
    var file: String

    @Flag(help: "Print one JSON object instead of the listing.")
    var json = false

    func run() throws {
        let summary = try WeightFileSummary.load(path: file)
        print(json ? summary.json() : summary.text(), terminator: "")
    }
}
