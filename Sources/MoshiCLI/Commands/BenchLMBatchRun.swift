import ArgumentParser
import Foundation
import MoshiLM
import MoshiNumerics
import Settings

/// `moshi bench lm --batch 1,2,4,8`: milliseconds per batched step (`LMBatch`, every session
/// stepped together, one pass over the weights per matrix) and per session, for each number of
/// sessions, next to one session stepped alone by `LMGenerator` (today's path) in the same run.
extension BenchLMCommand {
    /// One timed configuration.
    struct BatchTiming {
        let sessions: Int          // 0: LMGenerator alone
        let total: [Double]
        let temporal: [Double]
        let depformer: [Double]
    }

    func runBatched(options: ModelOptions, settings: Settings) throws {
        let threads = options.threadCount
        let pool = ThreadPool(threads: threads)
        let status = { (line: String) in if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
        let loadStart = Date()
        status(options.random ? "generating random \(options.format) weights for \(options.preset) ..." : "loading weights ...")
        let lm = try ModelLoader(options: options, settings: settings).loadLM(pool: pool)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let config = lm.weights.config
        let fill = max(min(contextFill, config.context), 3)
        // Each session's KV ring holds what the timed steps read, not the full context: 8
        // sessions of a 7B model at 3000 f32 entries would need 25 GB.
        let cacheContext = min(config.context, fill + 16)
        let position = max(fill - 1, 2)   // each timed step starts here (fastForward), attends over `fill` entries
        let user = (0..<config.userCodebooks).map { Int32($0 * 37 % config.audioCard) }
        status("\(lm.source); \(lm.weights.formatSummary); ready in \(String(format: "%.1f", loadSeconds)) s")

        var timings: [BatchTiming] = []
        do {  // Today's path: one LMModel + LMGenerator (its cache at full context), freed after.
            let model = try LMModel(weights: lm.weights, pool: threads > 1 ? pool : nil, precision: options.precision,
                                    cachePrecision: options.cachePrecision)
            let generator = LMGenerator(model: model, sampling: lm.sampling, seed: options.seed)
            for _ in 0..<2 { _ = user.withUnsafeBufferPointer { generator.step(userCodes: $0.baseAddress!, count: $0.count) } }
            var total: [Double] = [], temporal: [Double] = [], depformer: [Double] = []
            status("timing \(steps) steps of one session alone (LMGenerator) at context fill \(fill) ...")
            for i in 0..<(warmup + steps) {
                model.fastForward(to: position)
                let start = MonotonicTime.nanoseconds()
                _ = user.withUnsafeBufferPointer { generator.step(userCodes: $0.baseAddress!, count: $0.count) }
                let elapsed = Double(MonotonicTime.nanoseconds() - start) / 1e6
                if i >= warmup {
                    total.append(elapsed)
                    temporal.append(Double(generator.temporalNanoseconds) / 1e6)
                    depformer.append(Double(generator.depformerNanoseconds) / 1e6)
                }
            }
            timings.append(BatchTiming(sessions: 0, total: total, temporal: temporal, depformer: depformer))
        }
        for n in batchSizes {
            let batch = try LMBatch(weights: lm.weights, capacity: n, pool: threads > 1 ? pool : nil, precision: options.precision,
                                    cachePrecision: options.cachePrecision, cacheContext: cacheContext)
            let slots = (0..<n).map { batch.join(sampling: lm.sampling, seed: options.seed &+ UInt64($0))! }
            let submitAll = { for slot in slots { user.withUnsafeBufferPointer { batch.submit(slot, userCodes: $0.baseAddress!, count: $0.count) } } }
            for _ in 0..<2 { submitAll(); batch.step() }
            var total: [Double] = [], temporal: [Double] = [], depformer: [Double] = []
            status("timing \(steps) batched steps of \(n) session(s) at context fill \(fill) ...")
            for i in 0..<(warmup + steps) {
                batch.fastForward(to: position)
                submitAll()
                let start = MonotonicTime.nanoseconds()
                batch.step()
                let elapsed = Double(MonotonicTime.nanoseconds() - start) / 1e6
                if i >= warmup {
                    total.append(elapsed)
                    temporal.append(Double(batch.temporalNanoseconds) / 1e6)
                    depformer.append(Double(batch.depformerNanoseconds) / 1e6)
                }
            }
            timings.append(BatchTiming(sessions: n, total: total, temporal: temporal, depformer: depformer))
        }
        printBatched(timings, source: lm.source, format: options.random ? options.format : lm.weights.formatSummary,
                     threads: threads, fill: fill, loadSeconds: loadSeconds, random: options.random, options: options)
    }

    private func printBatched(_ timings: [BatchTiming], source: String, format: String, threads: Int, fill: Int,
                              loadSeconds: Double, random: Bool, options: ModelOptions) {
        let alone = percentile(timings[0].total, 0.5)
        let firstBatch = timings.first { $0.sessions == 1 }.map { percentile($0.total, 0.5) }
        let rows = timings.dropFirst()
        if json {
            let entries = rows.map { t -> String in
                let p50 = percentile(t.total, 0.5)
                let fields: [(String, String)] = [
                    ("sessions", "\(t.sessions)"), ("step_ms_p50", f3(p50)), ("step_ms_p99", f3(percentile(t.total, 0.99))),
                    ("per_session_ms_p50", f3(p50 / Double(t.sessions))),
                    ("temporal_ms_p50", f3(percentile(t.temporal, 0.5))), ("depformer_ms_p50", f3(percentile(t.depformer, 0.5))),
                    ("vs_batch_1", firstBatch.map { String(format: "%.3f", p50 / $0) } ?? "null"),
                    ("vs_alone", String(format: "%.3f", p50 / alone)),
                ]
                return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
            }
            let fields: [(String, String)] = [
                ("model", quote(source)), ("format", quote(format)), ("threads", "\(threads)"), ("context_fill", "\(fill)"),
                ("steps", "\(steps)"), ("kv_cache", quote(options.cachePrecision.rawValue)),
                ("matvec_precision", quote(options.precision.rawValue)), ("random_weights", random ? "true" : "false"),
                ("load_s", f3(loadSeconds)), ("kernel_path", quote(KernelPath.bestAvailable.description)),
                ("alone_step_ms_p50", f3(alone)), ("alone_step_ms_p99", f3(percentile(timings[0].total, 0.99))),
                ("batches", "[" + entries.joined(separator: ", ") + "]"),
            ]
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            print("language model: \(source)")
            if random { print("  (random weights in the real shapes and format: timings are real, outputs mean nothing)") }
            print("  \(threads) thread(s), KV cache \(options.cachePrecision) at \(fill) entries, \(steps) steps after \(warmup) warm-up, \(KernelPath.bestAvailable)")
            print("  alone (LMGenerator)  step p50 \(f3(alone)) ms   p99 \(f3(percentile(timings[0].total, 0.99))) ms")
            print("  sessions   step p50   step p99   per session   temporal p50   depformer p50   vs batch 1")
            for t in rows {
                let p50 = percentile(t.total, 0.5)
                let line = String(format: "  %8d %8.3f ms %8.3f ms %10.3f ms %11.3f ms %12.3f ms", t.sessions, p50, percentile(t.total, 0.99),
                                  p50 / Double(t.sessions), percentile(t.temporal, 0.5), percentile(t.depformer, 0.5))
                print(line + "   " + (firstBatch.map { String(format: "%.2fx", p50 / $0) } ?? "-"))
            }
        }
    }
}
