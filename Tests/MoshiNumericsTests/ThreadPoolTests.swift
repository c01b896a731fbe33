import Glibc
import Synchronization
import Testing
@testable import MoshiNumerics

@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3])
    func everyTaskRunsExactlyOnce(threads: Int) {
        let pool = ThreadPool(threads: threads)
        #expect(pool.threads == threads)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
        counts.initialize(repeating: 0, count: 1000)
        defer { counts.deallocate() }
        pool.parallelFor(1000) { counts[$0] += 1 }
        #expect((0..<1000).allSatisfy { counts[$0] == 1 })
    }

    @Test func tasksKnowWhichThreadRunsThem() {
        let pool = ThreadPool(threads: 3)
        let seen = UnsafeMutablePointer<Int>.allocate(capacity: 600)
        defer { seen.deallocate() }
        pool.run(tasks: 600) { task, thread in seen[task] = thread }
        #expect((0..<600).allSatisfy { (0..<3).contains(seen[$0]) })
    }

    @Test func manyTinyJobsInARowComplete() {
        let pool = ThreadPool(threads: 2)
        let total = Atomic<Int>(0)
        for _ in 0..<5_000 { pool.parallelFor(3) { _ in total.add(1, ordering: .relaxed) } }
        #expect(total.load(ordering: .relaxed) == 15_000)
    }

    @Test func poolsUsedAtOnceAfterCreationAndDestroyedIdle() {
        // A job dispatched before the workers first run must still reach them.
        for _ in 0..<50 {
            let pool = ThreadPool(threads: 3)
            let done = Atomic<Int>(0)
            pool.parallelFor(10) { _ in done.add(1, ordering: .relaxed) }
            #expect(done.load(ordering: .relaxed) == 10)
        }
        for _ in 0..<20 { _ = ThreadPool(threads: 2) }              // never used
        let sleeping = ThreadPool(threads: 2)
        usleep(300_000)                                            // workers fall asleep on the futex
        let done = Atomic<Int>(0)
        sleeping.parallelFor(4) { _ in done.add(1, ordering: .relaxed) }
        #expect(done.load(ordering: .relaxed) == 4)
    }

    @Test func nestedAndConcurrentUseRunsSeriallyAndCorrectly() async {
        let pool = ThreadPool(threads: 2)
        let total = Atomic<Int>(0)
        pool.parallelFor(8) { _ in
            pool.parallelFor(10) { _ in total.add(1, ordering: .relaxed) }      // nested: serial on this thread
        }
        #expect(total.load(ordering: .relaxed) == 80)
        // Two threads dispatching on one pool at once: every task still runs exactly once.
        let counts = SideCounts()
        await withTaskGroup(of: Void.self) { group in
            for side in 0..<2 {
                group.addTask {
                    for _ in 0..<500 { pool.parallelFor(7) { _ in counts.add(side: side) } }
                }
            }
        }
        #expect(counts.first.load(ordering: .relaxed) == 3500)
        #expect(counts.second.load(ordering: .relaxed) == 3500)
    }

    @Test func zeroThreadsMeansOnePerCPU() {
        #expect(ThreadPool(threads: 0).threads == ThreadPool.availableCPUs)
    }
}

/// Tasks counted per dispatching side.
final class SideCounts: Sendable {
    let first = Atomic<Int>(0)
    let second = Atomic<Int>(0)
    func add(side: Int) {
        if side == 0 { first.add(1, ordering: .relaxed) } else { second.add(1, ordering: .relaxed) }
    }
}
