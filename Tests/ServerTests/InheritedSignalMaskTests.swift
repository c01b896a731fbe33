import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Server

/// A long-running command started with SIGINT and SIGTERM blocked (a child inherits the mask of
/// the thread that spawns it: supervisors, shells started from Dispatch workers) still stops
/// cleanly on them: `moshi profile` on SIGINT prints its report and exits 0, `moshi serve` on
/// SIGTERM exits 0. Both go through the one SignalWatcher.
@Suite(.serialized, .timeLimit(.minutes(3))) struct InheritedSignalMaskTests {
    static func runWithSignalsBlocked(_ process: Process) throws {
        let result = Mutex<(any Error)?>(nil)
        let done = DispatchSemaphore(value: 0)
        let box = ServeSignalTests.UncheckedBox(process)
        Thread {
            var blocked = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGINT)
            sigaddset(&blocked, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &blocked, nil)
            do { try box.value.run() } catch { result.withLock { $0 = error } }
            done.signal()
        }.start()
        done.wait()
        if let error = result.withLock({ $0 }) { throw error }
    }

    static func start(_ arguments: [String]) throws -> (Process, ServeSignalTests.LineReader, ServeSignalTests.LineReader, DispatchSemaphore) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(ServeSignalTests.moshiExecutable))
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MOSHI_") && $0.key != "NOTIFY_SOCKET" && $0.key != "WATCHDOG_USEC" }
        environment["MOSHI_SERVER_METRICS_PORT"] = "0"
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-mask-\(UUID().uuidString).toml").path
        try "".write(toFile: config, atomically: true, encoding: .utf8)   // no user or system config
        environment["MOSHI_CONFIG"] = config
        process.environment = environment
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try runWithSignalsBlocked(process)
        return (process, ServeSignalTests.LineReader(stdout.fileHandleForReading), ServeSignalTests.LineReader(stderr.fileHandleForReading), exited)
    }

    @Test(.enabled(if: ServeSignalTests.moshiExecutable != nil, "the moshi executable is not built next to the tests"))
    func profileStopsOnSIGINTWithItsReport() throws {
        let (process, output, log, exited) = try Self.start(["profile", "--frames", "100000", "--no-realtime-priority"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        #expect(log.waitForLine(containing: "profiling", seconds: 90) != nil, "\(log.all)")
        Thread.sleep(forTimeInterval: 1)
        kill(process.processIdentifier, SIGINT)
        #expect(exited.wait(timeout: .now() + 20) == .success, "moshi profile did not stop on SIGINT; log:\n\(log.all)")
        #expect(!process.isRunning && process.terminationReason == .exit && process.terminationStatus == 0, "\(log.all)")
        #expect(output.waitForLine(containing: "compute", seconds: 5) != nil, "the report was printed: \(output.all)")
    }

    @Test(.enabled(if: ServeSignalTests.moshiExecutable != nil, "the moshi executable is not built next to the tests"))
    func serveStopsOnSIGTERM() throws {
        let (process, output, log, exited) = try Self.start(["serve", "--synthetic", "--port", "0"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        #expect(output.waitForLine(containing: "listening on", seconds: 90) != nil, "\(log.all)")
        kill(process.processIdentifier, SIGTERM)
        #expect(exited.wait(timeout: .now() + 20) == .success, "moshi serve did not stop on SIGTERM; log:\n\(log.all)")
        #expect(!process.isRunning && process.terminationReason == .exit && process.terminationStatus == 0, "\(log.all)")
    }
}
