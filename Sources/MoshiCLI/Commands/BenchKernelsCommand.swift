import ArgumentParser
import Benchmarks
import MoshiNumerics

#if canImport(Glibc)
import Glibc
#endif

/// `moshi bench kernels`: the machine's memory read bandwidth, then each weight format's
/// matrix-vector product as GB/s of weights read and as a share of that bandwidth, then f32
/// sgemm GFLOP/s. The measuring is `KernelBenchmark` (Benchmarks); this prints it.
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Benchmark the matrix kernels against the machine's memory bandwidth.",
        discussion: """
            Reads a 1 GiB buffer with 256-bit loads on the pool's threads (best of several runs), \
            then multiplies a vector by a random matrix of --size-mb MiB of weights in each format \
            (f32, bf16, f16, q8_0, q4_0, MLX 4- and 8-bit), exact and with int8 activations where \
            a format has that path. GB = 1e9 bytes. Build with -c release for meaningful figures; \
            needs about 1.1 GiB of memory at the peak.
            """
    )

    @Option(help: "Threads in the pool, the calling thread included (default: one per CPU).")
    var threads: Int?

    @Option(name: .customLong("size-mb"), help: "MiB of weights in each format's matrix (at least 256 for a figure free of caches).")
    var sizeMB = 256

    @Option(help: "Timed runs per measurement, after one warm-up.")
    var runs = 7

    @Flag(help: "Print one JSON object on stdout instead of the table.")
    var json = false

    func validate() throws {
        if let threads, threads < 1 || threads > 1024 { throw ValidationError("--threads must be 1...1024") }
        guard sizeMB >= 1, sizeMB <= 8192 else { throw ValidationError("--size-mb must be 1...8192") }
        guard runs >= 1, runs <= 1000 else { throw ValidationError("--runs must be 1...1000") }
    }

    func run() throws {
        let configuration = KernelBenchmark.Configuration(
            threads: threads ?? ThreadPool.availableCPUs, matrixBytes: sizeMB << 20, runs: runs)
        let report: KernelBenchmark.Report
        do {
            report = try KernelBenchmark.run(configuration) { message in
                let line = "bench kernels: \(message)\n"
                _ = line.withCString { write(2, $0, strlen($0)) }          // progress on stderr; stdout stays clean
            }
        } catch {
            throw ValidationError(error.description)
        }
        print(json ? report.json : report.table, terminator: json ? "\n" : "")
    }
}
