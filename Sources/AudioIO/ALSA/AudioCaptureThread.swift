import Foundation
import Synchronization

/// A dedicated OS thread that reads model frames from a capture `PCMDevice` and hands each to
/// `onFrame`, so that blocking `snd_pcm_readi` calls never run on Swift's cooperative pool.
///
/// `onFrame` runs on the capture thread with a buffer valid only during the call: copy the
/// samples out (into a preallocated ring buffer) and return quickly. A thrown read error
/// (the device vanished) goes to `onError` and ends the thread. The loop has no clock of its
/// own: it runs at the pace the device delivers (ALSA's `null` and `file` plugins, used in
/// tests, deliver as fast as they are asked).
public final class AudioCaptureThread: Sendable {
    /// The device being read.
    public let device: PCMDevice
    private let threadName: String
    private let onFrame: @Sendable (UnsafeBufferPointer<Float>) -> Void
    private let onError: @Sendable (any Error) -> Void
    private let stopRequested = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    public init(device: PCMDevice, name: String = "moshi-capture",
                onFrame: @escaping @Sendable (UnsafeBufferPointer<Float>) -> Void,
                onError: @escaping @Sendable (any Error) -> Void = { _ in }) {
        self.device = device
        self.threadName = name
        self.onFrame = onFrame
        self.onError = onError
    }

    /// Starts the thread (once; later calls do nothing).
    public func start() {
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        let thread = Thread { [self] in run() }
        thread.name = threadName
        thread.start()
    }

    /// Asks the loop to end after the current frame; does not wait. Safe from `onFrame`.
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    /// Asks the loop to end and waits until the thread has finished (at most one period).
    /// Never call it from `onFrame` (use `requestStop`).
    public func stop() {
        requestStop()
        guard started.load(ordering: .acquiring) else { return }
        finished.wait()
        finished.signal()  // later stop() calls return at once
    }

    private func run() {
        let frame = UnsafeMutableBufferPointer<Float>.allocate(capacity: device.framesPerPeriod)
        frame.initialize(repeating: 0)
        defer {
            frame.deallocate()
            finished.signal()
        }
        while !stopRequested.load(ordering: .relaxed) {
            do {
                try device.read(into: frame)
            } catch {
                onError(error)
                return
            }
            onFrame(UnsafeBufferPointer(frame))
        }
    }
}
