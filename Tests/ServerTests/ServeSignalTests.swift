@testable import MoshiClient
import AudioIO
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Server

/// `moshi serve` as a real process: SIGTERM in the middle of a conversation drains it (the
/// client gets its end of stream or a clean close) and the daemon exits 0 within a bound.
/// Skipped when the `moshi` executable is not built next to the tests.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ServeSignalTests {
    /// The built `moshi` next to the test bundle (`.build/<triple>/debug/`), or under the
    /// package's `.build/debug/`.
    static let moshiExecutable: String? = {
        var candidates: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("moshi"))
        }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("moshi"))
        candidates.append(Bundle.main.bundleURL.appendingPathComponent("moshi"))
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/moshi"))
        return candidates.map(\.path).first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Lines of a child's output, gathered on a thread.
    final class LineReader: @unchecked Sendable {
        private let condition = NSCondition()
        private var text = ""
        private var closed = false

        init(_ handle: FileHandle) {
            Thread {
                while true {
                    let data = handle.availableData
                    self.condition.lock()
                    if data.isEmpty { self.closed = true } else { self.text += String(decoding: data, as: UTF8.self) }
                    self.condition.broadcast()
                    self.condition.unlock()
                    if data.isEmpty { return }
                }
            }.start()
        }

        var all: String { condition.lock(); defer { condition.unlock() }; return text }

        /// Waits until the output contains `marker` (then returns the line holding it) or the time passes.
        func waitForLine(containing marker: String, seconds: Double) -> String? {
            let deadline = Date().addingTimeInterval(seconds)
            condition.lock()
            defer { condition.unlock() }
            while true {
                if let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
                if closed || !condition.wait(until: deadline) { return nil }
            }
        }
    }

    /// Starts `process` from a thread that blocks no signals. A child inherits the signal mask
    /// of the thread that spawns it, and the test runner's threads (Dispatch workers) block
    /// most signals, SIGTERM included: a daemon started from one would never see SIGTERM.
    static func runWithNoSignalsBlocked(_ process: Process) throws {
        let result = Mutex<(any Error)?>(nil)
        let done = DispatchSemaphore(value: 0)
        let box = UncheckedBox(process)
        let spawner = Thread {
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            do { try box.value.run() } catch { result.withLock { $0 = error } }
            done.signal()
        }
        spawner.start()
        done.wait()
        if let error = result.withLock({ $0 }) { throw error }
    }

    final class UncheckedBox<Value>: @unchecked Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    @Test(.enabled(if: ServeSignalTests.moshiExecutable != nil, "the moshi executable is not built next to the tests"))
    func sigtermDuringASessionDrainsAndExitsZero() throws {
        let executable = try #require(Self.moshiExecutable)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("moshi.toml").path
        try "".write(toFile: config, atomically: true, encoding: .utf8)  // no user or system config

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--synthetic", "--port", "0", "--config", config]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MOSHI_") && $0.key != "NOTIFY_SOCKET" && $0.key != "WATCHDOG_USEC" }
        environment["MOSHI_SERVER_METRICS_PORT"] = "0"
        process.environment = environment
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try Self.runWithNoSignalsBlocked(process)
        let output = LineReader(stdout.fileHandleForReading)
        let log = LineReader(stderr.fileHandleForReading)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // "moshi serve: listening on 127.0.0.1:PORT (max 1 session(s))"
        let line = try #require(output.waitForLine(containing: "listening on", seconds: 90), "no listening line; log:\n\(log.all)")
        let address = try #require(line.split(separator: " ").first { $0.hasPrefix("127.0.0.1:") })
        let port = try #require(Int(address.split(separator: ":")[1]))

        let client = try FramedClient(host: "127.0.0.1", port: port, receiveTimeoutSeconds: 30)
        #expect(try client.receive()?.kind == .handshake)
        let collected = MessageBox()
        let receiver = Thread {
            while let m = try? client.receive() { collected.append(m) }
            collected.finish()
        }
        receiver.start()
        // About 1 s of audio at the pace of speech, then SIGTERM with the session open.
        let packets = try TestAudio.packets(TestAudio.tone(seconds: 1))
        for p in packets {
            try client.send(.audio, payload: p)
            usleep(20_000)
        }
        let signalled = Date()
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let masks = status.split(separator: "\n").filter { $0.hasPrefix("Sig") }.joined(separator: " ")
        kill(process.processIdentifier, SIGTERM)

        #expect(collected.waitUntilFinished(seconds: 15), "the client was not closed after SIGTERM; child's signal masks: \(masks)")
        // The drain ends the stream properly: control 01 is the last message before the close.
        let last = collected.messages.last
        #expect(last?.kind == .control && last?.payload == [1], "last message: \(String(describing: last)); log:\n\(log.all)")
        #expect(collected.messages.contains { $0.kind == .audio }, "the session had produced audio before the signal")
        #expect(exited.wait(timeout: .now() + 15) == .success, "moshi serve did not exit within 15 s of SIGTERM")
        let seconds = Date().timeIntervalSince(signalled)
        #expect(!process.isRunning)
        if !process.isRunning {
            #expect(process.terminationReason == .exit && process.terminationStatus == 0, "exit status \(process.terminationStatus); log:\n\(log.all)")
        }
        #expect(seconds < 15)
    }
}
