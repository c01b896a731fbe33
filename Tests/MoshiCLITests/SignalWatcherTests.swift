#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
@testable import MoshiCLI

/// The one signal path of the long-running commands. In this process with signals that end
/// nothing (SIGUSR1, SIGHUP); SIGINT/SIGTERM to real child processes are in ServerTests
/// (`ServeSignalTests`, `InheritedSignalMaskTests`).
@Suite(.serialized) struct SignalWatcherTests {
    final class Seen: Sendable {
        let numbers = Mutex<[Int32]>([])
        func add(_ n: Int32) { numbers.withLock { $0.append(n) } }
        var all: [Int32] { numbers.withLock { $0 } }
    }

    static func currentHandler(_ number: Int32) -> UnsafeRawPointer? {
        var action = sigaction()
        sigaction(number, nil, &action)
        return unsafeBitCast(action.__sigaction_handler.sa_handler, to: UnsafeRawPointer?.self)
    }

    @Test func signalsReachTheHandlerOnItsThreadAndCancelRestoresTheActions() throws {
        let before = Self.currentHandler(SIGUSR1)
        let seen = Seen()
        // Block SIGUSR1 here, as test-runner threads do: the watcher's own thread still gets it.
        var blocked = sigset_t(), old = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR1)
        let watcher = try SignalWatcher([SIGUSR1, SIGHUP]) { seen.add($0) }
        pthread_sigmask(SIG_BLOCK, &blocked, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        // One at a time: pending standard signals of one number coalesce.
        for (i, number) in [SIGUSR1, SIGHUP, SIGUSR1].enumerated() {
            kill(getpid(), number)
            let deadline = Date().addingTimeInterval(5)
            while seen.all.count <= i && Date() < deadline { usleep(5_000) }
        }
        #expect(seen.all == [SIGUSR1, SIGHUP, SIGUSR1])
        // A second watcher of the same signal: both hear it; the action stays until the last goes.
        let seenToo = Seen()
        let second = try SignalWatcher([SIGUSR1]) { seenToo.add($0) }
        watcher.cancel()
        #expect(Self.currentHandler(SIGUSR1) != before)
        kill(getpid(), SIGUSR1)
        let deadline = Date().addingTimeInterval(5)
        while seenToo.all.isEmpty && Date() < deadline { usleep(5_000) }
        #expect(seenToo.all == [SIGUSR1] && seen.all.count == 3)
        second.cancel()
        #expect(Self.currentHandler(SIGUSR1) == before, "the previous action is back")
    }

    @Test func stopRequestIsSetOnce() {
        let stop = StopRequest()
        #expect(!stop.isRequested)
        #expect(stop.requestFirst())
        #expect(!stop.requestFirst())
        #expect(stop.isRequested)
    }
}
