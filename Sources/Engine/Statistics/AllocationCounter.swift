#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Counts the heap allocations the frame loop's threads make per frame, when a counting
/// allocator is preloaded: `scripts/alloc_count/moshi_alloc_count.c`, which exports
/// `moshi_alloc_count_thread()` (found here with `dlsym`). Without it nothing is counted and
/// the report says so. Frames from `steadyStateFrom` on are the steady state the claim "a
/// frame allocates nothing" is about; earlier ones may pay one-time costs.
final class AllocationCounter: Sendable {
    /// The threads counted.
    enum LoopThread: Int, CaseIterable {
        case capture, compute, playback
    }

    /// Frames before this index are not counted.
    static let steadyStateFrom = 10

    private typealias ThreadCount = @convention(c) () -> UInt64
    private let threadCount: ThreadCount?
    private let captureCount = Atomic<Int>(0), captureFrames = Atomic<Int>(0)
    private let computeCount = Atomic<Int>(0), computeFrames = Atomic<Int>(0)
    private let playbackCount = Atomic<Int>(0), playbackFrames = Atomic<Int>(0)

    init() {
        let handle = dlopen(nil, RTLD_NOW)
        let symbol = handle.flatMap { dlsym($0, "moshi_alloc_count_thread") }
        threadCount = symbol.map { unsafeBitCast($0, to: ThreadCount.self) }
    }

    /// Whether a counting allocator is loaded.
    var isAvailable: Bool { threadCount != nil }

    /// The calling thread's allocations so far (0 without the counting allocator).
    @inline(__always)
    func now() -> UInt64 { threadCount?() ?? 0 }

    /// Adds the calling thread's allocations since `start` to `thread`'s total, if `frame` is
    /// in the steady state.
    @inline(__always)
    func record(_ thread: LoopThread, frame: Int, since start: UInt64) {
        guard let threadCount, frame >= Self.steadyStateFrom else { return }
        let made = Int(threadCount() &- start)
        switch thread {
        case .capture: captureCount.add(made, ordering: .relaxed); captureFrames.add(1, ordering: .relaxed)
        case .compute: computeCount.add(made, ordering: .relaxed); computeFrames.add(1, ordering: .relaxed)
        case .playback: playbackCount.add(made, ordering: .relaxed); playbackFrames.add(1, ordering: .relaxed)
        }
    }

    /// What was counted: per thread, allocations and frames in the steady state.
    func summary() -> AllocationSummary? {
        guard isAvailable else { return nil }
        return AllocationSummary(
            steadyStateFrom: Self.steadyStateFrom,
            captureAllocations: captureCount.load(ordering: .relaxed), captureFrames: captureFrames.load(ordering: .relaxed),
            computeAllocations: computeCount.load(ordering: .relaxed), computeFrames: computeFrames.load(ordering: .relaxed),
            playbackAllocations: playbackCount.load(ordering: .relaxed), playbackFrames: playbackFrames.load(ordering: .relaxed))
    }
}

/// Heap allocations the loop's threads made in the steady state (frames from `steadyStateFrom`
/// on), counted by the preloaded counting allocator.
package struct AllocationSummary: Sendable, Equatable {
    package var steadyStateFrom: Int
    package var captureAllocations: Int
    package var captureFrames: Int
    package var computeAllocations: Int
    package var computeFrames: Int
    package var playbackAllocations: Int
    package var playbackFrames: Int

    /// Allocations on all three threads.
    package var total: Int { captureAllocations + computeAllocations + playbackAllocations }
}
