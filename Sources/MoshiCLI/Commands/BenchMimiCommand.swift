import ArgumentParser
import Foundation
import MoshiNumerics
import Mimi
import Weights

/// `moshi bench mimi`: times streaming Mimi encode and decode per 80 ms frame on the full-size
/// configuration, with the real checkpoint (`--mimi`) or random weights of the same shapes.
struct BenchMimiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mimi",
        abstract: "Time streaming Mimi encode and decode per 80 ms frame.",
        discussion: """
            Encodes a synthetic speech-like signal frame by frame, then decodes the codes frame by \
            frame, after a warm-up, and prints the median and 99th percentile per frame. The \
            process is pinned to CPUs 0..<N (sched_setaffinity); with N > 1 each frame's products \
            are split over a thread pool of N threads (as a conversation shares the LM's pool), \
            OpenBLAS runs one thread per pool task. Build with -c release for meaningful figures.
            """
    )

    @Option(help: "Mimi weights (tokenizer-e351c8d8-checkpoint125.safetensors); random weights of the official shapes if omitted.")
    var mimi: String?

    @Option(help: "CPUs to run on (the process is pinned to CPUs 0..<N; a pool of N threads splits each frame).")
    var threads = 1

    @Option(help: "Codebooks used (1 semantic + N-1 acoustic).")
    var codebooks = 8

    @Option(help: "Frames timed in each direction.")
    var frames = 200

    @Option(help: "Frames run before timing starts.")
    var warmup = 20

    @Option(help: ArgumentHelp("Also time MimiBatch (as moshi serve steps its sessions) for these stream counts, e.g. 1,2,4.", valueName: "list"))
    var batch: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    var batchSizes: [Int] { (batch ?? "").split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard threads >= 1, threads <= 1024 else { throw ValidationError("--threads must be 1...1024") }
        guard frames >= 1, frames <= 100_000 else { throw ValidationError("--frames must be 1...100000") }
        guard warmup >= 0, warmup <= 100_000 else { throw ValidationError("--warmup must be 0...100000") }
        guard codebooks >= 1, codebooks <= 32 else { throw ValidationError("--codebooks must be 1...32") }
        if let batch, batchSizes.count != batch.split(separator: ",").count || !batchSizes.allSatisfy({ (1...64).contains($0) }) {
            throw ValidationError("--batch takes stream counts 1...64, e.g. 1,2,4")
        }
    }

    func run() throws {
        let pinned = try pinToCPUs(threads)
        // The pool owns the cores: OpenBLAS runs one thread inside each pool task.
        Matmul.configureBLAS(threads: 1)
        let pool = threads > 1 ? ThreadPool(threads: threads) : nil
        let config = MimiConfig.official(codebooks: codebooks)
        let loadStart = monotonicSeconds()
        let weights = try mimi.map { try MimiWeights(path: $0, config: config) }
            ?? MimiWeights(store: try MimiRandomCheckpoint.make(config: config), config: config)
        let loadSeconds = monotonicSeconds() - loadStart

        let encoder = MimiEncoder(weights: weights, pool: pool)
        let decoder = MimiDecoder(weights: weights, pool: pool)
        let frameSize = config.frameSize
        let total = warmup + frames
        let audio = syntheticSpeech(samples: total * frameSize, sampleRate: config.sampleRate)
        var codes = [Int32](repeating: 0, count: total * codebooks)
        var output = [Float](repeating: 0, count: frameSize)
        var encodeTimes: [Double] = [], encodeCPU: [Double] = []
        var decodeTimes: [Double] = [], decodeCPU: [Double] = []
        encodeTimes.reserveCapacity(frames); encodeCPU.reserveCapacity(frames)
        decodeTimes.reserveCapacity(frames); decodeCPU.reserveCapacity(frames)

        audio.withUnsafeBufferPointer { input in
            codes.withUnsafeMutableBufferPointer { codes in
                for f in 0..<total {
                    let frame = UnsafeBufferPointer(rebasing: input[(f * frameSize)..<((f + 1) * frameSize)])
                    let slot = UnsafeMutableBufferPointer(rebasing: codes[(f * codebooks)..<((f + 1) * codebooks)])
                    let (start, cpu) = (monotonicSeconds(), threadCPUSeconds())
                    encoder.step(frame, codes: slot)
                    if f >= warmup {
                        encodeTimes.append(monotonicSeconds() - start)
                        encodeCPU.append(threadCPUSeconds() - cpu)
                    }
                }
            }
        }
        try codes.withUnsafeBufferPointer { codes in
            try output.withUnsafeMutableBufferPointer { output in
                for f in 0..<total {
                    let frame = UnsafeBufferPointer(rebasing: codes[(f * codebooks)..<((f + 1) * codebooks)])
                    let (start, cpu) = (monotonicSeconds(), threadCPUSeconds())
                    try decoder.step(frame, samples: output)
                    if f >= warmup {
                        decodeTimes.append(monotonicSeconds() - start)
                        decodeCPU.append(threadCPUSeconds() - cpu)
                    }
                }
            }
        }

        let batchLines = batchSizes.map { timeBatch(streams: $0, weights: weights, audio: audio, pool: pool) }

        let cost = MimiFrameCost(config: config)
        let encode = Percentiles(encodeTimes)
        let decode = Percentiles(decodeTimes)
        let encodeOnCPU = Percentiles(encodeCPU)
        let decodeOnCPU = Percentiles(decodeCPU)
        let source = mimi ?? "random weights (official shapes)"
        if json {
            let fields: [(String, String)] = [
                ("weights", "\"\(source.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""),
                ("threads", "\(threads)"), ("pinned_cpus", "\"\(pinned)\""), ("codebooks", "\(codebooks)"),
                ("frames", "\(frames)"), ("warmup", "\(warmup)"),
                ("encode_ms_p50", ms(encode.p50)), ("encode_ms_p99", ms(encode.p99)), ("encode_ms_mean", ms(encode.mean)),
                ("decode_ms_p50", ms(decode.p50)), ("decode_ms_p99", ms(decode.p99)), ("decode_ms_mean", ms(decode.mean)),
                ("encode_cpu_ms_p50", ms(encodeOnCPU.p50)), ("decode_cpu_ms_p50", ms(decodeOnCPU.p50)),
                ("encode_gflop_per_frame", String(format: "%.4f", Double(cost.encodeFLOPs) / 1e9)),
                ("decode_gflop_per_frame", String(format: "%.4f", Double(cost.decodeFLOPs) / 1e9)),
                ("encode_weight_mb_per_frame", String(format: "%.1f", Double(cost.encodeWeightBytes) / 1e6)),
                ("decode_weight_mb_per_frame", String(format: "%.1f", Double(cost.decodeWeightBytes) / 1e6)),
                ("load_s", String(format: "%.3f", loadSeconds)),
            ]
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            print("Mimi streaming, \(source), \(codebooks) codebooks, \(threads) thread(s)\(pinned.isEmpty ? "" : ", pinned to CPU \(pinned)")")
            print("  loaded in \(String(format: "%.2f", loadSeconds)) s; \(warmup) warm-up + \(frames) timed frames of \(frameSize) samples (80 ms)")
            for (name, p, cpu, flops, bytes) in [("encode", encode, encodeOnCPU, cost.encodeFLOPs, cost.encodeWeightBytes),
                                                 ("decode", decode, decodeOnCPU, cost.decodeFLOPs, cost.decodeWeightBytes)] {
                print("  \(name): p50 \(ms(p.p50)) ms, p99 \(ms(p.p99)) ms, mean \(ms(p.mean)) ms per frame "
                      + "(thread CPU time p50 \(ms(cpu.p50)) ms); "
                      + String(format: "%.3f GFLOP and %.0f MB of weights per frame -> %.1f GFLOP/s, %.1f GB/s at p50",
                               Double(flops) / 1e9, Double(bytes) / 1e6, Double(flops) / p.p50 / 1e9, Double(bytes) / p.p50 / 1e9))
            }
            print("  encode + decode: p50 \(ms(encode.p50 + decode.p50)) ms per 80 ms frame "
                  + "(thread CPU time \(ms(encodeOnCPU.p50 + decodeOnCPU.p50)) ms; wall time exceeds it when other processes share the CPU)")
            for line in batchLines { print(line) }
        }
    }

    /// `streams` streams through one `MimiBatch` (the transformers' weights read once for all),
    /// encode then decode, warm-up then `frames` timed frames; one line of results.
    private func timeBatch(streams: Int, weights: MimiWeights, audio: [Float], pool: ThreadPool?) -> String {
        let config = weights.config
        let n = config.frameSize
        let q = config.codebooks
        let batch = MimiBatch(weights: weights, capacity: streams)
        let encoders = (0..<streams).map { _ in MimiEncoder(weights: weights, pool: pool) }
        let decoders = (0..<streams).map { _ in MimiDecoder(weights: weights, pool: pool) }
        let encoderRefs = UnsafeMutablePointer<Unmanaged<MimiEncoder>>.allocate(capacity: streams)
        let decoderRefs = UnsafeMutablePointer<Unmanaged<MimiDecoder>>.allocate(capacity: streams)
        let inputs = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: streams)
        let codes = UnsafeMutablePointer<Int32>.allocate(capacity: streams * q)
        let codesOut = UnsafeMutablePointer<UnsafeMutablePointer<Int32>>.allocate(capacity: streams)
        let codesIn = UnsafeMutablePointer<UnsafePointer<Int32>>.allocate(capacity: streams)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: streams * n)
        let outputs = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: streams)
        defer {
            encoderRefs.deallocate(); decoderRefs.deallocate(); inputs.deallocate(); codes.deallocate()
            codesOut.deallocate(); codesIn.deallocate(); output.deallocate(); outputs.deallocate()
        }
        codes.initialize(repeating: 0, count: streams * q)
        for i in 0..<streams {
            encoderRefs[i] = Unmanaged.passUnretained(encoders[i])
            decoderRefs[i] = Unmanaged.passUnretained(decoders[i])
            codesOut[i] = codes + i * q
            codesIn[i] = UnsafePointer(codes + i * q)
            outputs[i] = output + i * n
        }
        var encodeTimes: [Double] = [], decodeTimes: [Double] = []
        encodeTimes.reserveCapacity(frames); decodeTimes.reserveCapacity(frames)
        let allocationCounter = ProcessAllocations()
        var allocationsBefore: UInt64?
        // The unmanaged references above do not keep the codecs alive.
        withExtendedLifetime((encoders, decoders)) { audio.withUnsafeBufferPointer { audio in
            let total = audio.count / n
            for f in 0..<(warmup + frames) {
                // Stream i speaks the signal i frames later, so the streams differ.
                for i in 0..<streams { inputs[i] = audio.baseAddress! + ((f + i) % total) * n }
                if f == warmup { allocationsBefore = allocationCounter.total() }
                let start = monotonicSeconds()
                batch.encode(encoderRefs, samples: inputs, codes: codesOut, count: streams, pool: pool)
                let encoded = monotonicSeconds()
                batch.decode(decoderRefs, codes: codesIn, samples: outputs, count: streams, pool: pool)
                if f >= warmup {
                    encodeTimes.append(encoded - start)
                    decodeTimes.append(monotonicSeconds() - encoded)
                }
            }
        } }
        let allocations = allocationsBefore.flatMap { before in allocationCounter.total().map { $0 &- before } }
        let encode = Percentiles(encodeTimes), decode = Percentiles(decodeTimes)
        return "  MimiBatch of \(streams): encode p50 \(ms(encode.p50)) ms, decode p50 \(ms(decode.p50)) ms per batched frame; "
            + "\(ms((encode.p50 + decode.p50) / Double(streams))) ms per stream"
            + (allocations.map { "; \($0) heap allocations in the \(frames) timed frames (all threads)" } ?? "")
    }

    private func ms(_ seconds: Double) -> String { String(format: "%.3f", seconds * 1000) }
}

/// Median, 99th percentile (nearest rank) and mean of some durations.
private struct Percentiles {
    let p50: Double
    let p99: Double
    let mean: Double

    init(_ values: [Double]) {
        let sorted = values.sorted()
        func rank(_ q: Double) -> Double {
            sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
        }
        p50 = rank(0.5)
        p99 = rank(0.99)
        mean = sorted.reduce(0, +) / Double(max(sorted.count, 1))
    }
}

private func monotonicSeconds() -> Double { MonotonicTime.seconds() }

/// Heap allocations so far by every thread, when the counting allocator (scripts/alloc_count)
/// is preloaded. Its table is allocated once, so reading it allocates nothing.
private final class ProcessAllocations {
    private typealias ThreadTable = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UInt64>?, Int32) -> Int32
    private let read: ThreadTable?
    private let tids = UnsafeMutablePointer<Int32>.allocate(capacity: 1024)
    private let counts = UnsafeMutablePointer<UInt64>.allocate(capacity: 1024)

    init() {
        read = dlsym(dlopen(nil, RTLD_NOW), "moshi_alloc_count_threads").map { unsafeBitCast($0, to: ThreadTable.self) }
    }

    deinit {
        tids.deallocate()
        counts.deallocate()
    }

    /// Allocations so far, all threads together; nil without the counting allocator.
    func total() -> UInt64? {
        guard let read else { return nil }
        let n = Int(read(tids, counts, 1024))
        var sum: UInt64 = 0
        for i in 0..<min(n, 1024) { sum &+= counts[i] }
        return sum
    }
}
private func threadCPUSeconds() -> Double { MonotonicTime.threadCPUSeconds() }

/// Pins this process to CPUs `0 ..< count` (`sched_setaffinity`); returns them as text
/// ("0", "0-1"), or "" when the machine has fewer CPUs (then nothing is pinned).
private func pinToCPUs(_ count: Int) throws -> String {
    let available = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    guard count <= available else { return "" }
    // glibc declares sched_setaffinity only under _GNU_SOURCE, which Swift's Glibc module does
    // not define, so it is looked up by name: int sched_setaffinity(pid_t, size_t, const cpu_set_t *).
    typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_setaffinity") else {
        throw ValidationError("sched_setaffinity is not available")
    }
    let setAffinity = unsafeBitCast(symbol, to: SetAffinity.self)
    var set = [UInt64](repeating: 0, count: 16)          // cpu_set_t: 1024 bits
    for cpu in 0..<count { set[cpu / 64] |= 1 << UInt64(cpu % 64) }
    guard set.withUnsafeBytes({ setAffinity(0, $0.count, $0.baseAddress!) }) == 0 else {
        throw ValidationError("sched_setaffinity failed: \(String(cString: strerror(errno)))")
    }
    return count == 1 ? "0" : "0-\(count - 1)"
}

/// A deterministic speech-like test signal: a gliding harmonic tone with a syllable-rate
/// envelope plus a little noise, peak about 0.5.
private func syntheticSpeech(samples: Int, sampleRate: Int) -> [Float] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var phase = 0.0
    return (0..<samples).map { i in
        let t = Double(i) / Double(sampleRate)
        let pitch = 120 + 40 * sin(2 * .pi * 0.7 * t)
        phase += 2 * .pi * pitch / Double(sampleRate)
        var voice = 0.0
        for h in 1...6 { voice += sin(Double(h) * phase) / Double(h) }
        let envelope = 0.5 + 0.5 * sin(2 * .pi * 4 * t)
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let noise = Double(state >> 40) / Double(1 << 24) - 0.5
        return Float(0.25 * envelope * voice + 0.02 * noise)
    }
}
