import ArgumentParser

/// `moshi bench kernels`: memory bandwidth and matrix-vector throughput per weight format.
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kernels", abstract: "Benchmark the matrix kernels against the machine's memory bandwidth.")
    func run() throws { throw ValidationError("not built yet") }
}
