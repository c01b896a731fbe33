import ArgumentParser

/// `moshi bench`: measurements of the machine and of each stage (run with `-c release`).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: the kernels, the codec, the language model and the server (build with -c release).",
        subcommands: [BenchKernelsCommand.self, BenchMimiCommand.self, BenchLMCommand.self, BenchServeCommand.self]
    )
}
