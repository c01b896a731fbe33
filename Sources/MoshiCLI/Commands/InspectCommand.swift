import ArgumentParser

/// `moshi inspect FILE`: every tensor of a safetensors or GGUF file, and the totals.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "List the tensors of a safetensors or GGUF weight file.")
    func run() throws { throw ValidationError("not built yet") }
}
