@testable import MoshiClient
import AudioIO
import Foundation
import Server
import Testing
@testable import MoshiCLI

/// `moshi client --input --output` (file mode) against an in-process echo server.
@Suite(.timeLimit(.minutes(2))) struct ClientFileModeTests {
    @Test(arguments: [true, false])
    func fileModeWritesTheEchoedReply(fast: Bool) throws {
        let directory = ClientTestDirectory()
        let server = try ClientTestSupport.makeServer()
        defer { server.shutdown() }
        let talk = directory.path("talk.wav")
        try AudioFile.write(talk, samples: ClientTestSupport.tone(seconds: 1.6), sampleRate: 24000)
        var command = try MoshiCommand.parseAsRoot(["client", "127.0.0.1:\(server.port)", "--input", talk, "--output", directory.path("reply.wav")]
                                                   + (fast ? ["--fast"] : []))
        let start = Date()
        try command.run()
        let elapsed = Date().timeIntervalSince(start)
        if !fast { #expect(elapsed >= 1.5, "real-time sending took \(elapsed) s") }

        let reply = try AudioFile.readMono24k(directory.path("reply.wav"))
        // 1.6 s in = 20 frames of 80 ms out, the tone at half level (≈ 0.106 RMS) after the codec's start.
        #expect(reply.count == 20 * 1920)
        let level = ClientTestSupport.rms(reply[4800...])
        #expect(level > 0.07 && level < 0.14, "reply level \(level)")
        #expect(ClientTestSupport.audibleFrames(reply) >= 17)
        #expect(server.statistics.snapshot.frames == 20)
    }

    @Test func aBadAddressOrAnAbsentServerIsAClearError() throws {
        #expect(throws: (any Error).self) { _ = try MoshiCommand.parseAsRoot(["client", "nohostport", "--input", "a.wav", "--output", "b.wav"]) }
        #expect(throws: (any Error).self) { _ = try MoshiCommand.parseAsRoot(["client", "127.0.0.1:1"]) }
        let directory = ClientTestDirectory()
        let talk = directory.path("talk.wav")
        try AudioFile.write(talk, samples: ClientTestSupport.tone(seconds: 0.2), sampleRate: 24000)
        // Port 1 on loopback: nothing listens there.
        var command = try MoshiCommand.parseAsRoot(["client", "127.0.0.1:1", "--input", talk, "--output", directory.path("reply.wav")])
        #expect(throws: FramedClientError.self) { try command.run() }
    }
}
