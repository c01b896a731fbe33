import Foundation
import Synchronization

/// A dedicated OS thread that asks `render` for each model frame and writes it to a playback
/// `PCMDevice`, so that blocking `snd_pcm_writei` calls never run on Swift's cooperative pool.
///
/// `render` runs on the playback thread and fills the whole buffer (silence when it has
/// nothing to play, e.g. from a preallocated ring buffer the engine feeds). The device paces
/// the loop: `write` blocks while the buffer is full. A thrown write error goes to `onError`
/// and ends the thread.
public final class AudioPlaybackThread: Sendable {
    /// The device being written.
    public let device: PCMDevice
    private let threadName: String
    private let render: @Sendable (UnsafeMutableBufferPointer<Float>) -> Void
    private let onError: @Sendable (any Error) -> Void
    private let stopRequested = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    public init(device: PCMDevice, name: String = "moshi-playback",
                render: @escaping @Sendable (UnsafeMutableBufferPointer<Float>) -> Void,
                onError: @escaping @Sendable (any Error) -> Void = { _ in }) {
        self.device = device
        self.threadName = name
        self.render = render
        self.onError = onError
    }

    /// Starts the thread (once; later calls do nothing).
    public func start() {
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        let thread = Thread { [self] in run() }
        thread.name = threadName
        thread.start()
    }

    /// Asks the loop to end after the current frame; does not wait. Safe from `render`.
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    /// Asks the loop to end and waits until the thread has finished. Never call it from `render`.
    public func stop() {
        requestStop()
        guard started.load(ordering: .acquiring) else { return }
        finished.wait()
        finished.signal()
    }

    private func run() {
        let frame = UnsafeMutableBufferPointer<Float>.allocate(capacity: device.framesPerPeriod)
        frame.initialize(repeating: 0)
        defer {
            frame.deallocate()
            finished.signal()
        }
        while !stopRequested.load(ordering: .relaxed) {
            render(frame)
            do {
                try device.write(UnsafeBufferPointer(frame))
            } catch {
                onError(error)
                return
            }
        }
    }
}
