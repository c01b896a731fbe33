import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// A persistent pool of compute threads (CKernels `mk_pool`). The thread that calls a kernel
/// takes part, so `ThreadPool(threads: 2)` starts one worker. Workers spin briefly between jobs
/// and then sleep on a futex; handing out work allocates nothing and takes no lock.
///
/// One thread at a time is meant to run work on a pool (each conversation's compute thread owns
/// one). Misuse degrades instead of corrupting: work started from inside a pool task, or from a
/// second thread while the pool is busy, runs serially on the calling thread. OpenBLAS runs one
/// thread per call (`Matmul` sets it before its first product), so the pool owns the cores.
package final class ThreadPool: @unchecked Sendable {
    /// Threads in all, the caller included.
    package let threads: Int
    package let handle: OpaquePointer

    /// - Parameter threads: threads in all; 0 or less means one per CPU.
    package init(threads: Int) {
        let n = threads > 0 ? min(threads, 1024) : ThreadPool.availableCPUs
        guard let pool = mk_pool_create(Int32(n)) else {
            fatalError("ThreadPool: cannot start \(n - 1) worker threads")
        }
        self.handle = pool
        self.threads = n
    }

    /// Stops and joins the workers (the pool is idle: `run` returns only when its work is done).
    deinit { mk_pool_destroy(handle) }

    /// CPUs this process may run on.
    package static var availableCPUs: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Runs `body(task)` for every task in `0..<count` across the pool and returns when all are
    /// done. For setup, tests and coarse work; kernels pass C task functions, which allocate nothing.
    package func parallelFor(_ count: Int, _ body: (_ task: Int) -> Void) {
        run(tasks: count) { task, _ in body(task) }
    }

    /// A task function for `run(tasks:context:_:)`: the context, the task's index, the thread.
    package typealias TaskFunction = @convention(c) (UnsafeMutableRawPointer?, Int64, Int32) -> Void

    /// Runs `function(context, task, thread)` for every task in `0..<count` across the pool and
    /// returns when all are done. Allocates nothing (the hot path's way to split work). Called
    /// from inside a pool task, the tasks run one after another on the calling thread, and so do
    /// the kernels they call.
    package func run(tasks count: Int, context: UnsafeMutableRawPointer, _ function: TaskFunction) {
        guard count > 0 else { return }
        mk_pool_run(handle, function, context, Int64(count))
    }

    /// Runs `body(task, thread)` for every task in `0..<count`; `thread` in `0..<threads` names
    /// the thread running it (0: the caller), for per-thread scratch.
    package func run(tasks count: Int, _ body: (_ task: Int, _ thread: Int) -> Void) {
        guard count > 0 else { return }
        withoutActuallyEscaping(body) { body in
            var box = body
            withUnsafeMutablePointer(to: &box) { ctx in
                mk_pool_run(handle, { raw, task, thread in
                    let f = raw!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee
                    f(Int(task), Int(thread))
                }, UnsafeMutableRawPointer(ctx), Int64(count))
            }
        }
    }
}
