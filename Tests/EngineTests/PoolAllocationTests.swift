import Foundation
import Mimi
import MoshiNumerics
import Testing
@testable import Engine

/// A conversation on a two-thread pool (Mimi and the LM on the same pool) allocates nothing in
/// the steady state on ANY thread: the test re-runs itself in a child with the counting
/// allocator preloaded and reads its process-wide counter (`moshi_alloc_count_process`)
/// around steady-state `ConversationSession.process` calls, so the pool's workers (the C
/// kernels, OpenBLAS inside pool tasks) are counted too.
@Suite(.timeLimit(.minutes(3))) struct PoolAllocationTests {
    static let childVariable = "MOSHI_POOL_ALLOCATION_CHILD"

    @Test func conversationOnAPoolAllocatesNothingOnAnyThread() throws {
        if ProcessInfo.processInfo.environment[Self.childVariable] != nil {
            try Self.countInThisProcess()
        } else {
            try Self.runChild()
        }
    }

    typealias ProcessCount = @convention(c) () -> UInt64

    static func countInThisProcess() throws {
        let symbol = dlopen(nil, RTLD_NOW).flatMap { dlsym($0, "moshi_alloc_count_process") }
        let count = unsafeBitCast(try #require(symbol, "the counting allocator is not loaded"), to: ProcessCount.self)
        Matmul.configureBLAS(threads: 1)
        let pool = ThreadPool(threads: 2)
        let session = try SyntheticModel.session(pool: pool)
        #expect(session.encoder.pool === pool && session.decoder.pool === pool)
        let n = FrameTiming.samplesPerFrame
        let input = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let stages = UnsafeMutablePointer<UInt64>.allocate(capacity: 4)
        defer { input.deallocate(); output.deallocate(); stages.deallocate() }
        for i in 0..<n { input[i] = 0.3 * sin(Float(i) * 0.08) }
        for _ in 0..<4 { _ = session.process(input, output: output, stageNanoseconds: stages) }   // warm up
        let before = count()
        var produced = 0
        for _ in 0..<6 where session.process(input, output: output, stageNanoseconds: stages).producedAudio { produced += 1 }
        let allocations = count() - before
        #expect(produced == 6)
        #expect(allocations == 0, "\(allocations) allocations in 6 steady-state frames on a 2-thread pool")
        // The counter does count: this allocates.
        let array = [Int](repeating: 1, count: Int(allocations) + 100)
        #expect(count() > before && array.count > 0)
    }

    static func runChild() throws {
        let directory = TemporaryDirectory()
        let shim = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/alloc_count/moshi_alloc_count.c").path
        let library = directory.path("libmoshi_alloc_count.so")
        let compile = try AllocationTests.run("/usr/bin/env", ["cc", "-O2", "-shared", "-fPIC", "-o", library, shim], environment: [:])
        try #require(compile.status == 0, "cannot build the counting allocator: \(compile.output)")
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let child = try AllocationTests.run(executable, ["--testing-library", "swift-testing", "--filter",
                                                        "PoolAllocationTests/conversationOnAPoolAllocatesNothingOnAnyThread"],
                                            environment: ["LD_PRELOAD": library, childVariable: "1"])
        #expect(child.status == 0, "child run failed:\n\(child.output)")
        #expect(child.output.contains("conversationOnAPoolAllocatesNothingOnAnyThread() passed"), "child output:\n\(child.output)")
    }
}
