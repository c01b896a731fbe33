@testable import MoshiClient
import Foundation
import Testing
@testable import Server

/// Connect-and-abort churn against a real `moshi serve --synthetic` process, measured in that
/// process alone: no other test allocates there, so its resident memory says what the churn
/// costs. Each connection makes a real conversation (Mimi state and KV caches, megabytes);
/// one leaked per connection would add hundreds of megabytes over the run.
/// Skipped when the `moshi` executable is not built next to the tests.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ServeMemoryTests {
    /// Resident bytes of process `pid` (`/proc/PID/statm`, second field, in pages).
    static func residentBytes(of pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return -1 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return -1 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test(.enabled(if: ServeSignalTests.moshiExecutable != nil, "the moshi executable is not built next to the tests"))
    func connectAndAbortCyclesLeaveTheDaemonsMemoryFlat() throws {
        // A real daemon, no user or system config (the child-process start the signal tests use).
        let (process, output, log, _) = try InheritedSignalMaskTests.start(["serve", "--synthetic", "--port", "0", "--max-sessions", "4"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        let line = try #require(output.waitForLine(containing: "listening on", seconds: 90), "no listening line; log:\n\(log.all)")
        let address = try #require(line.split(separator: " ").first { $0.hasPrefix("127.0.0.1:") })
        let port = try #require(Int(address.split(separator: ":")[1]))
        let pid = process.processIdentifier
        let packet = try TestAudio.packets(TestAudio.tone(seconds: 0.02))[0]

        let bound = 32 << 20     // one synthetic conversation alone holds more than this
        /// `count` clients that connect, wait for the handshake (so the conversation exists),
        /// and vanish, half of them in the middle of a message. Stops early once the daemon has
        /// grown by a gigabyte over `baseline` (a leak must not run the machine out of memory).
        func churn(_ count: Int, baseline: Int? = nil) throws -> Int {
            for i in 0..<count {
                let c = try FramedClient(host: "127.0.0.1", port: port, receiveTimeoutSeconds: 30)
                _ = try c.receive()
                if i % 2 == 0 { try? c.sendRaw(Array(FramedProtocol.encode(.audio, payload: packet).prefix(7))) }
                if let baseline, i % 10 == 9, Self.residentBytes(of: pid) - baseline > 1 << 30 { return i + 1 }
            }
            return count
        }
        // Warm-up: the allocator's arenas and lazily made buffers belong to the baseline.
        _ = try churn(20)
        usleep(500_000)
        let before = Self.residentBytes(of: pid)
        try #require(before > 0, "cannot read /proc/\(pid)/statm")
        let made = try churn(200, baseline: before)
        // The last conversations are freed on the daemon's compute queue after their clients
        // left; a leak never comes back down, memory still in flight does.
        var growth = Int.max
        _ = eventually(15) { growth = Self.residentBytes(of: pid) - before; return growth < bound }
        #expect(process.isRunning, "moshi serve died; log:\n\(log.all)")
        #expect(made == 200 && growth < bound, "resident memory grew by \(growth >> 10) KiB over \(made) connections (\(growth / made) bytes each)")
        kill(pid, SIGTERM)
    }
}
