@testable import Server
import Synchronization
import Testing

@Suite("Operations: systemd notify and watchdog")
struct OperationsSystemdTests {
    @Test(arguments: [false, true])
    func notifierSendsDatagramsToThePathOrAbstractSocket(abstract: Bool) throws {
        let stub = try NotifySocketStub(abstract: abstract)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": stub.address])
        #expect(notifier.isEnabled)
        #expect(try notifier.ready(status: "model loaded\nwarm"))
        #expect(stub.receive() == "READY=1\nSTATUS=model loaded warm")
        try notifier.watchdog()
        #expect(stub.receive() == "WATCHDOG=1")
        try notifier.status("2 sessions")
        #expect(stub.receive() == "STATUS=2 sessions")
        try notifier.stopping()
        #expect(stub.receive() == "STOPPING=1")
        try notifier.reloading()
        let reloading = stub.receive() ?? ""
        #expect(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="))
        #expect(UInt64(reloading.split(separator: "=").last ?? "") != nil)
    }

    @Test func notifierIsANoOpWithoutNotifySocket() throws {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(try notifier.ready() == false)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": ""]).isEnabled == false)
    }

    @Test func badNotifySocketsAreClearErrors() {
        #expect(throws: SystemdNotifier.NotifyError.invalidSocketAddress("relative/path")) {
            try SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]).ready()
        }
        let long = "/" + String(repeating: "x", count: 200)
        #expect(throws: SystemdNotifier.NotifyError.invalidSocketAddress(long)) {
            try SystemdNotifier(environment: ["NOTIFY_SOCKET": long]).ready()
        }
        // Nobody listens there: the send fails with the system's reason.
        do {
            try SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent/notify.sock"]).ready()
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("sendto failed"))
        }
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsec() {
        let pid: Int32 = 4242
        #expect(WatchdogSettings.pingInterval(environment: ["WATCHDOG_USEC": "10000000"], processID: pid) == .seconds(5))
        #expect(WatchdogSettings.pingInterval(environment: ["WATCHDOG_USEC": "3", "WATCHDOG_PID": "4242"], processID: pid) == .microseconds(1))
        #expect(WatchdogSettings.pingInterval(environment: ["WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "99"], processID: pid) == nil)
        #expect(WatchdogSettings.pingInterval(environment: ["WATCHDOG_USEC": "0"], processID: pid) == nil)
        #expect(WatchdogSettings.pingInterval(environment: ["WATCHDOG_USEC": "ten"], processID: pid) == nil)
        #expect(WatchdogSettings.pingInterval(environment: ["WATCHDOG_USEC": "-5"], processID: pid) == nil)
        #expect(WatchdogSettings.pingInterval(environment: [:], processID: pid) == nil)
        #expect(SystemdWatchdog(notifier: SystemdNotifier(environment: [:]), environment: ["WATCHDOG_USEC": "1000"]) { true } == nil)
    }

    @Test func watchdogPingsOnlyWhileTheLoopMakesProgress() async throws {
        let stub = try NotifySocketStub(abstract: true)
        let heartbeat = FrameHeartbeat()
        let stalled = Atomic<Bool>(false)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": stub.address])
        let watchdog = SystemdWatchdog(notifier: notifier, interval: .milliseconds(10)) {
            stalled.load(ordering: .relaxed) ? heartbeat.advancedSinceLastCheck() : true
        }
        watchdog.start()
        #expect(stub.receive() == "WATCHDOG=1")
        stalled.store(true, ordering: .relaxed)
        let skipped = await waitUntil { watchdog.skippedCount >= 2 }
        #expect(skipped)
        let pingsWhileStalled = watchdog.pingCount
        heartbeat.beat()
        let resumed = await waitUntil { watchdog.pingCount > pingsWhileStalled }
        #expect(resumed)
        watchdog.stop()
        #expect(heartbeat.count == 1)
    }
}
