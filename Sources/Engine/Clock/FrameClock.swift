/// The clock a `FrameLoop` reads and sleeps on, injected so that tests run faster than real
/// time (`VirtualClock`) while the product runs on `MonotonicClock`.
///
/// Every blocking wait of the loop's threads goes through the clock (`sleep(until:)` and the
/// clock's `FrameSignal`s), so that a virtual clock knows when all of them are idle and may
/// move time on. Threads that take part announce themselves (`threadsWillStart`,
/// `threadDidStart`, `threadWillFinish`); on a real clock these calls do nothing.
package protocol FrameClock: AnyObject, Sendable {
    /// Nanoseconds on the clock's monotonic timeline (the origin is arbitrary).
    func now() -> UInt64
    /// Blocks the calling thread until `now() >= deadline`; returns at once if it already is.
    func sleep(until deadline: UInt64)
    /// A new wake-up signal whose waits this clock knows about.
    func makeSignal() -> FrameSignal
    /// `count` threads are about to start and take part; they count as running from now on.
    func threadsWillStart(_ count: Int)
    /// Called first on each taking-part thread. `order` breaks ties between threads due at the
    /// same instant on a virtual clock: the lower order runs first.
    func threadDidStart(order: Int)
    /// Called last on each taking-part thread.
    func threadWillFinish()
}

/// An auto-reset event for one waiting thread: `signal` wakes the waiter, or makes its next
/// `wait` return at once if it is not waiting. Several signals before a wait count as one, so
/// a waiter always re-checks the condition it waits for.
package protocol FrameSignal: AnyObject, Sendable {
    /// Blocks until signalled (consuming the signal). One thread waits on a signal at a time.
    func wait()
    /// Wakes the waiter, or arms the next wait. Any thread; allocates nothing.
    func signal()
}
