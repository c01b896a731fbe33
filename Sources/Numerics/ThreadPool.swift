import CKernels

/// A persistent pool of compute threads (`mk_pool` in CKernels). The thread that calls a kernel
/// takes part, so `ThreadPool(threads: 2)` starts one worker. Workers spin briefly between jobs
/// and then sleep on a futex; handing out work allocates nothing and takes no lock.
///
/// One thread at a time may run kernels on a pool (each conversation's compute thread owns one,
/// or shares one under its own discipline).
public final class ThreadPool: @unchecked Sendable {
    /// Threads in all, the caller included.
    public let threads: Int
    let handle: OpaquePointer

    /// - Parameter threads: threads in all; 0 or less means one per CPU.
    public init(threads: Int) {
        let n = threads > 0 ? threads : ThreadPool.availableCPUs
        guard let pool = mk_pool_create(Int32(n)) else {
            fatalError("ThreadPool: cannot start \(n - 1) worker threads")
        }
        self.handle = pool
        self.threads = n
    }

    deinit { mk_pool_destroy(handle) }

    /// CPUs this process may run on.
    public static var availableCPUs: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Runs `body(task)` for every task in `0..<count` across the pool and returns when all are done.
    /// Convenient for setup and tests; kernels use C task functions, which allocate nothing.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var box = body
            withUnsafeMutablePointer(to: &box) { ctx in
                mk_pool_run(handle, { raw, task, _ in
                    let f = raw!.assumingMemoryBound(to: ((Int) -> Void).self).pointee
                    f(Int(task))
                }, UnsafeMutableRawPointer(ctx), Int64(count))
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
