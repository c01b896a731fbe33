import ArgumentParser
import Foundation
import MoshiLM
import Benchmarks
import MoshiNumerics

/// `moshi bench lm`: milliseconds per generator step, and how close a step comes to the
/// machine's memory read bandwidth (a step reads every weight once, plus the KV cache).
struct BenchLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm",
        abstract: "Time language-model steps (temporal + depformer) against the memory read bandwidth.",
        discussion: """
            Times --steps generator steps after --warmup, with the KV cache positioned at \
            --context-fill steps (its contents are not recomputed: the cost of a step depends only \
            on how many entries it reads). bytes_per_step counts every weight matrix once, one row \
            per embedding table, and the keys and values attention reads; ratio = bytes_per_step / \
            step time (p50) / read bandwidth measured in the same run on the same threads (1 GiB, best \
            of runs before and after the steps). \
            With --random the weights are random in the preset's real shapes and format (same cost \
            as real ones). Build with -c release.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("weights"), help: ArgumentHelp("Language-model weights (same as --lm).", valueName: "path"))
    var weightsPath: String?

    @Option(name: .customLong("context-fill"), help: "KV cache entries in use when timing (0 = start of a conversation; clamped to the context).")
    var contextFill = 0

    @Option(help: "Steps timed.")
    var steps = 20

    @Option(help: "Steps run before timing.")
    var warmup = 3

    @Option(help: ArgumentHelp("Time batched steps (LMBatch) of each of these numbers of sessions, e.g. 1,2,4,8, next to one session stepped alone (LMGenerator).", valueName: "n,n,..."))
    var batch: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    /// The session counts of `--batch` (validated).
    var batchSizes: [Int] { batch.map { $0.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } } ?? [] }

    func validate() throws {
        guard steps >= 1 && steps <= 100_000 else { throw ValidationError("--steps must be 1...100000") }
        guard warmup >= 0 && warmup <= 10_000 else { throw ValidationError("--warmup must be 0...10000") }
        guard contextFill >= 0 else { throw ValidationError("--context-fill must be >= 0") }
        if let batch {
            let sizes = batchSizes
            guard !sizes.isEmpty, sizes.count == batch.split(separator: ",").count, sizes.allSatisfy({ $0 >= 1 && $0 <= 64 }) else {
                throw ValidationError("--batch takes session counts 1...64 separated by commas, e.g. 1,2,4,8")
            }
        }
    }

    func run() throws {
        let settings = try global.loadSettings()
        let model = modelOptions.resolved(settings)
        var options = model
        if let weightsPath { options.lm = weightsPath }
        if options.lm == nil && !options.synthetic && options.modelDir == nil && options.hfRepo == nil { options.random = true }
        Matmul.configureBLAS(threads: 1)
        if batch != nil { return try runBatched(options: options, settings: settings) }
        let threads = options.threadCount
        let pool = ThreadPool(threads: threads)
        let status = { (line: String) in if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
        status("measuring read bandwidth (1 GiB, \(threads) thread(s)) ...")
        let read = KernelBenchmark.readBandwidth(pool: pool)
        let loadStart = Date()
        status(options.random ? "generating random \(options.format) weights for \(options.preset) ..." : "loading weights ...")
        let lm = try ModelLoader(options: options, settings: settings).loadLM(pool: pool)
        let lmModel = try LMModel(weights: lm.weights, pool: threads > 1 ? pool : nil, precision: options.precision, cachePrecision: options.cachePrecision)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        status("\(lm.source); \(lmModel.memorySummary); ready in \(String(format: "%.1f", loadSeconds)) s")
        let config = lmModel.config
        let fill = min(contextFill, config.context)
        let generator = LMGenerator(model: lmModel, sampling: lm.sampling, seed: options.seed)
        let user = (0..<config.userCodebooks).map { Int32($0 * 37 % config.audioCard) }
        // Two real steps first so every stream is past its delay, then position the cache.
        for _ in 0..<2 { _ = user.withUnsafeBufferPointer { generator.step(userCodes: $0.baseAddress!, count: $0.count) } }
        var temporal: [Double] = [], depformer: [Double] = [], total: [Double] = []
        var bytes = 0
        for i in 0..<(warmup + steps) {
            lmModel.fastForward(to: max(fill - 1, 2))
            let stepBytes = lmModel.bytesReadPerStep
            let start = MonotonicTime.nanoseconds()
            _ = user.withUnsafeBufferPointer { generator.step(userCodes: $0.baseAddress!, count: $0.count) }
            let elapsed = Double(MonotonicTime.nanoseconds() - start) / 1e6
            if i >= warmup {
                total.append(elapsed)
                temporal.append(Double(generator.temporalNanoseconds) / 1e6)
                depformer.append(Double(generator.depformerNanoseconds) / 1e6)
                bytes = stepBytes
            }
            if !json && i == warmup - 1 { status("timing \(steps) steps at context fill \(max(fill, 3)) ...") }
        }
        let p50 = percentile(total, 0.5), p99 = percentile(total, 0.99)
        // Measured again after the steps: on a shared machine the best of both is the machine's bandwidth.
        let readAfter = KernelBenchmark.readBandwidth(pool: pool)
        let gbps = max(read.bestGBps, readAfter.bestGBps)
        let ratio = Double(bytes) / (p50 / 1000) / (gbps * 1e9)
        let format = options.random ? options.format : lm.weights.formatSummary
        // One core's rate on a cache-resident matrix of the main format: above the per-core share
        // of the read bandwidth the step is memory-bound, below it compute-bound.
        let core = try KernelBenchmark.computeRate(format: lm.weights.mainFormat, precision: options.precision, columns: config.dim)
        let perCoreRead = gbps / Double(max(threads, 1))
        if json {
            let fields: [(String, String)] = [
                ("model", quote(lm.source)), ("format", quote(format)), ("threads", "\(threads)"),
                ("context_fill", "\(max(fill, 3))"), ("steps", "\(steps)"),
                ("step_ms_p50", f3(p50)), ("step_ms_p99", f3(p99)),
                ("temporal_ms_p50", f3(percentile(temporal, 0.5))), ("temporal_ms_p99", f3(percentile(temporal, 0.99))),
                ("depformer_ms_p50", f3(percentile(depformer, 0.5))), ("depformer_ms_p99", f3(percentile(depformer, 0.99))),
                ("bytes_per_step", "\(bytes)"), ("weight_bytes_per_step", "\(lm.weights.bytesReadPerStep)"),
                ("read_gbps", f3(gbps)), ("ratio", String(format: "%.4f", ratio)),
                ("kv_cache", quote(options.cachePrecision.rawValue)), ("matvec_precision", quote(options.precision.rawValue)),
                ("random_weights", options.random ? "true" : "false"), ("load_s", f3(loadSeconds)),
                ("core_compute_gbps", f3(core.bestGBps)), ("core_compute_format", quote(lm.weights.mainFormat.description)),
                ("kernel_path", quote(KernelPath.bestAvailable.description)),
            ]
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            print("language model: \(lm.source)")
            if options.random { print("  (random weights in the real shapes and format: timings are real, outputs mean nothing)") }
            print("  \(threads) thread(s), KV cache \(options.cachePrecision) at \(max(fill, 3)) of \(config.context) entries, \(steps) steps after \(warmup) warm-up")
            print("  step      p50 \(f3(p50)) ms   p99 \(f3(p99)) ms")
            print("  temporal  p50 \(f3(percentile(temporal, 0.5))) ms   p99 \(f3(percentile(temporal, 0.99))) ms")
            print("  depformer p50 \(f3(percentile(depformer, 0.5))) ms   p99 \(f3(percentile(depformer, 0.99))) ms")
            print(String(format: "  reads %.3f GB per step -> %.1f GB/s at p50; read bandwidth %.1f GB/s; ratio %.0f %%",
                         Double(bytes) / 1e9, Double(bytes) / (p50 / 1000) / 1e9, gbps, ratio * 100))
            let bound = core.bestGBps >= perCoreRead ? "memory-bound" : "compute-bound"
            print("  one core computes \(String(format: "%.1f", core.bestGBps)) GB/s of \(lm.weights.mainFormat) weights from cache "
                  + "(\(KernelPath.bestAvailable), \(options.precision.rawValue)); read bandwidth per thread "
                  + "\(String(format: "%.1f", perCoreRead)) GB/s: \(bound)")
        }
    }

    func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
    }

    func f3(_ v: Double) -> String { String(format: "%.3f", v) }
    func quote(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
}
