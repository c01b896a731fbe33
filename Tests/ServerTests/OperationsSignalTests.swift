@testable import Server
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What the handlers under test reported.
private final class SignalLog: Sendable {
    let drains = Atomic<Int>(0)
    let reloads = Atomic<Int>(0)
    let outcome = Mutex<(SignalHandling.ShutdownOutcome, Int32)?>(nil)

    var finished: (SignalHandling.ShutdownOutcome, Int32)? { outcome.withLock { $0 } }
}

// Signals are process-wide: these tests run one at a time. They send process-directed signals
// (kill), as systemd does: a thread-directed raise() stays pending on a thread that blocks it.
@Suite("Operations: signals", .serialized)
struct OperationsSignalTests {
    private func makeHandling(log: SignalLog, drainTimeout: Duration, drainFor: Duration) -> SignalHandling {
        SignalHandling(
            drainTimeout: drainTimeout,
            drain: {
                log.drains.add(1, ordering: .relaxed)
                try? await Task.sleep(for: drainFor)
            },
            reload: { log.reloads.add(1, ordering: .relaxed) },
            exit: { outcome, signal in log.outcome.withLock { $0 = (outcome, signal) } })
    }

    @Test func sigtermDrainsThenExitsZero() async {
        let log = SignalLog()
        let handling = makeHandling(log: log, drainTimeout: .seconds(5), drainFor: .milliseconds(20))
        handling.install()
        defer { handling.uninstall() }
        kill(getpid(), SIGTERM)
        let finished = await waitUntil { log.finished != nil }
        #expect(finished)
        #expect(log.finished?.0 == .drained)
        #expect(log.finished?.1 == SIGTERM)
        #expect(log.finished?.0.exitStatus(signal: SIGTERM) == 0)
        #expect(log.drains.load(ordering: .relaxed) == 1)
        #expect(handling.isShuttingDown)
    }

    @Test func aDrainThatOverrunsItsBoundIsCutShort() async {
        let log = SignalLog()
        let handling = makeHandling(log: log, drainTimeout: .milliseconds(50), drainFor: .seconds(30))
        handling.install()
        defer { handling.uninstall() }
        let start = ContinuousClock.now
        kill(getpid(), SIGINT)
        let finished = await waitUntil { log.finished != nil }
        #expect(finished)
        #expect(log.finished?.0 == .timedOut)
        #expect(log.finished?.1 == SIGINT)
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func aSecondSignalWhileDrainingForcesTheExit() async {
        let log = SignalLog()
        let handling = makeHandling(log: log, drainTimeout: .seconds(30), drainFor: .seconds(30))
        handling.install()
        defer { handling.uninstall() }
        kill(getpid(), SIGTERM)
        let draining = await waitUntil { log.drains.load(ordering: .relaxed) == 1 }
        #expect(draining)
        kill(getpid(), SIGINT)
        let finished = await waitUntil { log.finished != nil }
        #expect(finished)
        #expect(log.finished?.0 == .forced)
        #expect(log.finished?.0.exitStatus(signal: SIGINT) == 130)
    }

    @Test func sighupReloadsAndDoesNotStop() async {
        let log = SignalLog()
        let handling = makeHandling(log: log, drainTimeout: .seconds(5), drainFor: .zero)
        handling.install()
        defer { handling.uninstall() }
        kill(getpid(), SIGHUP)
        let first = await waitUntil { log.reloads.load(ordering: .relaxed) == 1 }
        #expect(first)
        kill(getpid(), SIGHUP)  // separately: signals that arrive together are delivered once
        let reloaded = await waitUntil { log.reloads.load(ordering: .relaxed) == 2 }
        #expect(reloaded)
        #expect(handling.reloads == 2)
        #expect(!handling.isShuttingDown)
        #expect(log.finished == nil)
    }
}
