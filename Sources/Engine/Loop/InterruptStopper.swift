import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGINT / SIGTERM (Ctrl-C, `kill`) into a call, through Dispatch signal sources, so
/// that a command ends its frame loop cleanly (`FrameLoop.requestStop`) instead of dying.
/// While it is active the signals' default action is ignored; `cancel` restores it, and a
/// second Ctrl-C after the first ends the process as usual.
public final class InterruptStopper: @unchecked Sendable {  // sources only touched in init/cancel
    private var sources: [DispatchSourceSignal] = []
    private let signals: [Int32]

    /// Calls `onSignal(signal)` on a global queue for each SIGINT or SIGTERM (or `signals`).
    public init(signals: [Int32] = [SIGINT, SIGTERM], onSignal: @escaping @Sendable (Int32) -> Void) {
        self.signals = signals
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                onSignal(number)
                signal(number, SIG_DFL)  // the next one ends the process
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Stops listening and restores the default actions.
    public func cancel() {
        for source in sources { source.cancel() }
        sources.removeAll()
        for number in signals { signal(number, SIG_DFL) }
    }

    deinit { cancel() }
}
