import ArgumentParser

/// `moshi bench`: measurements of the machine and of each stage (run with `-c release`).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: kernels now; the codec and the language model as they land.",
        subcommands: [BenchKernelsCommand.self, BenchMimiCommand.self]
    )
}
