@testable import MoshiClient
import AudioIO
import Foundation
import Testing
@testable import Server

@Suite(.serialized) struct OggServerTests {
    static func tool(_ name: String) -> String? {
        ["/usr/bin/\(name)", "/usr/local/bin/\(name)"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func shell(_ command: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test(.enabled(if: tool("ffmpeg") != nil && tool("socat") != nil, "needs ffmpeg and socat"))
    func ffmpegAndSocatHoldAConversation() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-ogg-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let talk = dir.appendingPathComponent("talk.wav").path
        let reply = dir.appendingPathComponent("reply.ogg").path
        try AudioFile.write(talk, samples: TestAudio.tone(seconds: 3), sampleRate: 24000)
        let status = try Self.shell("ffmpeg -nostdin -loglevel error -i \(talk) -c:a libopus -f ogg - | socat -t 10 - TCP:127.0.0.1:\(server.port) > \(reply)")
        #expect(status == 0)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: reply)))
        let samples = try AudioFile.decodeOggOpus(bytes)
        // 3 s in (ffmpeg's stream, padded to whole 80 ms frames) -> 38 frames of reply.
        #expect(samples.count >= 37 * 1920 && samples.count <= 39 * 1920)
        let level = TestAudio.rms(samples[24000..<48000])
        #expect(level > 0.07 && level < 0.14)
        // ffmpeg itself reads the reply to the end.
        #expect(try Self.shell("ffmpeg -nostdin -loglevel error -i \(reply) -f null -") == 0)
        #expect(eventually { server.activeSessions == 0 })
    }

    @Test func garbageAfterOggSIsClosed() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        let socket = RawSocket(fd: try FramedClient.connect(host: "127.0.0.1", port: server.port))
        socket.send(Array("OggS".utf8) + [UInt8](repeating: 0x55, count: 70_000))
        let reply = socket.readAll()
        // Closed without a byte of audio; the session was counted as a protocol error.
        #expect(reply.isEmpty)
        #expect(eventually { server.statistics.snapshot.protocolErrors == 1 && server.activeSessions == 0 })
    }
}
