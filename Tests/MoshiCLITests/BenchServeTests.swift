import Foundation
import Synchronization
import Testing
@testable import MoshiCLI

/// `moshi bench serve`'s simulated users against an echo server: they hold a real-time
/// conversation over /api/chat, and a late reply shows in the lag they measure.
@Suite(.serialized) struct BenchServeTests {
    @Test func usersMeasureTheReplyLagOfARealTimeConversation() throws {
        let server = try ClientTestSupport.makeServer()
        defer { server.shutdown() }
        let speech = ClientTestSupport.tone(seconds: 1)
        let users = (0..<2).map { _ in SimulatedUser(host: "127.0.0.1", port: server.port, audio: speech, seconds: 2) }
        let collected = Mutex<[SimulatedUser.Result]>([])
        DispatchQueue.concurrentPerform(iterations: users.count) { i in
            let result = users[i].run()
            collected.withLock { $0.append(result) }
        }
        let results = collected.withLock { $0 }
        #expect(results.count == 2)
        for r in results {
            #expect(r.error == nil)
            #expect(r.framesSent == 25)
            #expect(r.framesReplied >= 23 && r.framesReplied <= 25, "replied \(r.framesReplied)")
            #expect(r.lagsMs.count >= 23)
            // The echo answers at once: the lag is the pipeline's frame plus the network path.
            #expect(r.percentile(0.5) > 0 && r.percentile(0.5) < 300, "p50 \(r.percentile(0.5)) ms")
            #expect(r.textMessages >= 20)
        }
    }

    @Test func aStalledModelShowsAsReplyLag() throws {
        let server = try ClientTestSupport.makeServer(factory: ClientEchoFactory(stallAfterFrames: [8], stallMilliseconds: 700))
        defer { server.shutdown() }
        let user = SimulatedUser(host: "127.0.0.1", port: server.port, audio: ClientTestSupport.tone(seconds: 1), seconds: 2)
        let result = user.run()
        #expect(result.error == nil)
        #expect(result.maxLag >= 600, "max lag \(result.maxLag) ms")
        #expect(result.percentile(0.5) < 300)
    }

    @Test func optionsAreChecked() {
        #expect(throws: (any Error).self) { try BenchServeCommand.parse(["--sessions", "0"]) }
        #expect(throws: (any Error).self) { try BenchServeCommand.parse(["--sessions", "2,x"]) }
        #expect(throws: (any Error).self) { try BenchServeCommand.parse(["--connect", "nohost"]) }
        #expect(throws: (any Error).self) { try BenchServeCommand.parse(["--seconds", "0.5"]) }
        #expect(throws: Never.self) { try BenchServeCommand.parse(["--sessions", "1,2,4", "--connect", "127.0.0.1:8998"]) }
    }
}
