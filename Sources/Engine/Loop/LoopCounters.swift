import Synchronization

/// The frame loop's running totals, as atomics so that any thread may read them while the
/// loop's threads update them (each counter has one writing thread).
final class LoopCounters: Sendable {
    let captured = Atomic<Int>(0)          // capture thread
    let processed = Atomic<Int>(0)         // compute thread
    let late = Atomic<Int>(0)              // compute thread
    let droppedByPolicy = Atomic<Int>(0)   // compute thread
    let lostAtCapture = Atomic<Int>(0)     // capture thread
    let outputLostInQueue = Atomic<Int>(0) // compute thread
    let outputDroppedByPolicy = Atomic<Int>(0) // playback thread
    let underflows = Atomic<Int>(0)        // playback thread
    let completed = Atomic<Int>(0)         // playback thread: frames 0..<completed are final
    let lastLatency = Atomic<UInt64>(0)    // playback thread, nanoseconds

}
