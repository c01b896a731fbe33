import Foundation
import Server

/// Counts the heap allocations of an in-process server's compute path over the steady part of a
/// `bench serve` run, when the counting allocator (scripts/alloc_count) is preloaded: a watcher
/// thread reads the allocator's per-thread table once the server has run a fifth of the frames
/// it will run and again at four fifths, and sums the threads that are not event loops
/// (`NIO-ELT-*`), not the watcher and not the main thread (which only waits for the clients): the
/// batch queue's thread and the pool's workers.
final class ServerThreadAllocations: @unchecked Sendable {
    private typealias ThreadTable = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UInt64>?, Int32) -> Int32
    private let read: ThreadTable?
    private let done = DispatchSemaphore(value: 0)
    private var result: (allocations: Int, frames: Int, threads: [String])?

    init() {
        read = dlsym(dlopen(nil, RTLD_NOW), "moshi_alloc_count_threads").map { unsafeBitCast($0, to: ThreadTable.self) }
    }

    /// Whether the counting allocator is loaded.
    var isAvailable: Bool { read != nil }

    /// Starts watching `server`, which will run about `expectedFrames` frames.
    func watch(_ server: MoshiServer, expectedFrames: Int) {
        guard let read else { return }
        let main = Self.currentThreadID()
        Thread.detachNewThread { [self] in
            let me = Self.currentThreadID()
            let from = expectedFrames / 5, to = expectedFrames * 4 / 5
            func frames() -> Int { server.statistics.snapshot.frames }
            let deadline = Date().addingTimeInterval(600)
            while frames() < from, Date() < deadline { usleep(2_000) }
            let before = Self.table(read), framesBefore = frames()
            while frames() < to, Date() < deadline { usleep(2_000) }
            let after = Self.table(read), framesAfter = frames()
            var sum = 0
            var threads: [String] = []
            for (tid, count) in after where tid != me && tid != main {
                let name = Self.threadName(tid)
                guard !name.hasPrefix("NIO-ELT") else { continue }
                let made = Int(count &- (before[tid] ?? 0))
                sum += made
                if made > 0 { threads.append("\(name) [\(tid)]: \(made)") }
            }
            result = (sum, framesAfter - framesBefore, threads.sorted())
            done.signal()
        }
    }

    /// The count, once the watcher has its second reading (nil if it never got one).
    func report(timeout: TimeInterval) -> String? {
        guard read != nil, done.wait(timeout: .now() + timeout) == .success, let result else { return nil }
        let detail = result.threads.isEmpty ? "" : " (" + result.threads.joined(separator: ", ") + ")"
        return "compute path (batch queue and pool threads): \(result.allocations) heap allocations in \(result.frames) frames\(detail)"
    }

    private static func table(_ read: ThreadTable) -> [Int32: UInt64] {
        var tids = [Int32](repeating: 0, count: 1024)
        var counts = [UInt64](repeating: 0, count: 1024)
        let n = Int(read(&tids, &counts, 1024))
        var table: [Int32: UInt64] = [:]
        for i in 0..<min(n, 1024) where tids[i] != 0 { table[tids[i]] = counts[i] }
        return table
    }

    private static func threadName(_ tid: Int32) -> String {
        ((try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func currentThreadID() -> Int32 {
        Int32((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"))?.split(separator: "/").last.map(String.init) ?? "") ?? -1
    }
}
