import ArgumentParser

/// `moshi lm`: the language model on its own, on Mimi codes.
struct LMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm",
        abstract: "Run the language model on Mimi codes (offline).",
        subcommands: [LMGenerateCommand.self]
    )
}
