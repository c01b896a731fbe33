@testable import MoshiClient
import AudioIO
import Engine
import Foundation
import MoshiLM
import MoshiNumerics
import Synchronization
import Testing
@testable import Server

/// A served conversation allocates nothing per frame on its compute path: the test re-runs
/// itself in a child process with the counting allocator (scripts/alloc_count) preloaded; the
/// child serves a 10 s framed-protocol conversation with the synthetic model (full-size Mimi,
/// the synthetic LM on a two-thread pool, a text decoder) and counts, per thread, the heap
/// allocations from frame 10 on. Every thread but the event loops and the test's own client
/// thread counts as the compute path: the compute queue's thread and the pool's workers (a
/// thread that allocates even once is in the counter's table).
@Suite(.timeLimit(.minutes(3))) struct ServedAllocationTests {
    static let childVariable = "MOSHI_SERVER_ALLOCATION_CHILD"
    static let frames = 125        // 10 s
    static let steadyFrom = 10

    @Test func aServedSessionAllocatesNothingPerFrameOnItsComputePath() throws {
        if ProcessInfo.processInfo.environment[Self.childVariable] != nil {
            try Self.countInThisProcess()
        } else {
            try Self.runChild()
        }
    }

    /// The synthetic model with its LM on a shared two-thread pool.
    struct PooledSyntheticFactory: ConversationFactory {
        /// OpenBLAS set to one thread, as `moshi serve` does (LoadedModel): the pool owns the cores.
        static let pool: ThreadPool = { Matmul.configureBLAS(threads: 1); return ThreadPool(threads: 2) }()
        var modelDescription: String { "synthetic (pooled, test)" }
        func makeConversation(options: SessionOptions) throws -> ServerConversation {
            let (lm, mimi) = SyntheticFactory.weights
            let generator = LMGenerator(model: try LMModel(weights: lm, pool: Self.pool, threads: 2), sampling: .referenceDefaults, seed: 7)
            return ServerConversation(processor: Measured(try ConversationSession(generator: generator, mimi: mimi)),
                                      textDecoder: ClosureTextDecoder { "<\($0)>" })
        }
    }

    /// The model's own allocations (inside `process`), apart from the server's.
    static let modelAllocations = Atomic<Int>(0)
    static let counting: (@convention(c) () -> UInt64)? = dlsym(dlopen(nil, RTLD_NOW), "moshi_alloc_count_thread").map { unsafeBitCast($0, to: (@convention(c) () -> UInt64).self) }
    static let measuring = Atomic<Bool>(false)

    /// Counts what the wrapped processor allocates on the calling thread.
    final class Measured: FrameProcessor, InputEncoderResetting, @unchecked Sendable {
        let inner: ConversationSession
        init(_ inner: ConversationSession) { self.inner = inner }
        var stageNames: [String] { inner.stageNames }
        func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
            let start = ServedAllocationTests.counting?() ?? 0
            let result = inner.process(input, output: output, stageNanoseconds: stageNanoseconds)
            if ServedAllocationTests.measuring.load(ordering: .relaxed) {
                ServedAllocationTests.modelAllocations.add(Int((ServedAllocationTests.counting?() ?? 0) &- start), ordering: .relaxed)
            }
            return result
        }
        func reset() { inner.reset() }
        func resetInputEncoder() { inner.resetInputEncoder() }
    }

    typealias ThreadTable = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UInt64>?, Int32) -> Int32

    /// Allocations so far per thread id.
    static func table(_ read: ThreadTable) -> [Int32: UInt64] {
        var tids = [Int32](repeating: 0, count: 1024)
        var counts = [UInt64](repeating: 0, count: 1024)
        let n = Int(read(&tids, &counts, 1024))
        var result: [Int32: UInt64] = [:]
        for i in 0..<min(n, 1024) where tids[i] != 0 { result[tids[i]] = counts[i] }
        return result
    }

    static func threadName(_ tid: Int32) -> String {
        ((try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func countInThisProcess() throws {
        let symbol = try #require(dlsym(dlopen(nil, RTLD_NOW), "moshi_alloc_count_threads"), "the counting allocator is not loaded")
        let read = unsafeBitCast(symbol, to: ThreadTable.self)
        var config = ServerConfiguration()
        config.port = 0
        config.maximumInputAheadSeconds = 60
        // Lockstep input waits for each frame; on a busy machine a wait can pass the 240 ms
        // after which the server conceals missing audio (an extra frame, a rare event that
        // grows the input buffer once). Concealment is not the steady state measured here.
        config.jitterAllowanceMilliseconds = 0
        let server = try MoshiServer(configuration: config, factory: PooledSyntheticFactory())
        defer { server.shutdown() }
        let me = Int32((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"))?.split(separator: "/").last.map(String.init) ?? "") ?? -1
        let client = try FramedClient(host: "127.0.0.1", port: server.port, receiveTimeoutSeconds: 20)
        #expect(try client.receive()?.kind == .handshake)
        let packets = try TestAudio.packets(TestAudio.tone(seconds: Double(frames) * 0.08))
        #expect(packets.count == frames * 4)
        var before: [Int32: UInt64] = [:]
        var audio = 0
        var texts = 0
        // Lockstep: one frame's packets, then wait for the server to have run it.
        for k in 0..<frames {
            for packet in packets[(k * 4)..<((k + 1) * 4)] { try client.send(.audio, payload: packet) }
            while server.statistics.snapshot.frames < k + 1 { usleep(500) }
            if k + 1 == steadyFrom { usleep(20_000); before = table(read); measuring.store(true, ordering: .relaxed) }
        }
        usleep(20_000)
        let after = table(read)
        measuring.store(false, ordering: .relaxed)
        let model = modelAllocations.load(ordering: .relaxed)
        client.finishSending()
        while let m = try client.receive() {
            if m.kind == .audio { audio += 1 }
            if m.kind == .text { texts += 1 }
        }
        #expect(audio == frames - 1)  // Moshi's first frame yields no audio
        #expect(texts > 0)
        var compute = 0
        var eventLoops = 0
        var lines: [String] = []
        for (tid, count) in after {
            let made = Int(count - (before[tid] ?? 0))
            let name = threadName(tid)
            if tid == me { continue }
            if name.hasPrefix("NIO-ELT") { eventLoops += made } else { compute += made }
            if made > 0 { lines.append("\(name) [\(tid)]: \(made)") }
        }
        let steady = frames - steadyFrom
        print("served allocations over \(steady) steady frames: compute path \(compute) (\(Double(compute) / Double(steady)) per frame; of which inside the model's process \(model)), event loops \(eventLoops) (\(Double(eventLoops) / Double(steady)) per frame); threads: \(lines.sorted().joined(separator: ", "))")
        // The server's own work on the compute path (Opus decode and encode, framing, the
        // hand-off to the event loop, counters) allocates nothing, in any build. The model's
        // `process` allocates nothing in release builds (`moshi profile` under the counting
        // allocator: "compute 0"); a debug build's unoptimized model code does, so that part is
        // required to be zero only when optimized.
        #expect(compute - model == 0, "compute path allocations outside the model: \(compute - model); \(lines.sorted())")
        #if !DEBUG
        #expect(model == 0, "the model's process allocated \(model) times")
        #endif
        // The counter does count: the event loop allocates its socket buffers.
        #expect(eventLoops > 0)
    }

    static func runChild() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-served-alloc-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let shim = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/alloc_count/moshi_alloc_count.c").path
        let library = directory.appendingPathComponent("libmoshi_alloc_count.so").path
        let compile = try run("/usr/bin/env", ["cc", "-O2", "-shared", "-fPIC", "-o", library, shim], environment: [:])
        try #require(compile.status == 0, "cannot build the counting allocator: \(compile.output)")
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let child = try run(executable, ["--testing-library", "swift-testing", "--filter", "ServedAllocationTests"],
                            environment: ["LD_PRELOAD": library, childVariable: "1"])
        let summary = child.output.split(separator: "\n").filter { $0.contains("served allocations") }
        print(summary.joined(separator: "\n"))
        #expect(child.status == 0, "child run failed:\n\(child.output.suffix(4000))")
        #expect(child.output.contains("aServedSessionAllocatesNothingPerFrameOnItsComputePath() passed"), "child output:\n\(child.output.suffix(4000))")
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
