import AudioIO
import Foundation
import Testing
@testable import Server

/// The page at `/` in a real browser: Debian's Chromium, headless, with a WAV file as its
/// microphone, opens `/?autostart=1` on a server with the synthetic model and talks for about
/// ten seconds. Checked through the DevTools protocol (the page's own counters) and the
/// server's: frames flowed both ways, the page shows that it talks and that audio came back.
/// A screenshot is left in the build folder (`.build/browser-client.png`).
@Suite(.serialized, .timeLimit(.minutes(3))) struct BrowserClientTests {
    static var available: Bool { ChromiumDevTools.executable != nil }

    /// Speech for the fake microphone: espeak-ng when installed, else a gliding tone.
    static func speechWAV(at path: String) throws {
        if OggServerTests.tool("espeak-ng") != nil,
           try OggServerTests.shell("espeak-ng -s 150 -w \(path) 'Hello Moshi. This is the browser client talking to the server over its WebSocket. How are you today? Tell me about the weather.' 2>/dev/null") == 0 {
            return
        }
        try AudioFile.write(path, samples: SyntheticConversationTests.speech(), sampleRate: 24000)
    }

    @Test(.enabled(if: BrowserClientTests.available, "needs chromium (apt-get install chromium)"))
    func thePageTalksToTheServerInHeadlessChromium() throws {
        var config = ServerConfiguration()
        config.port = 0
        config.maximumSessions = 1
        config.idleTimeoutSeconds = 20
        let server = try MoshiServer(configuration: config, factory: SyntheticFactory())
        defer { server.shutdown() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-browser-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("speech.wav").path
        try Self.speechWAV(at: wav)

        let browser = try ChromiumDevTools(arguments: [
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            "--use-file-for-fake-audio-capture=\(wav)", "--autoplay-policy=no-user-gesture-required",
        ], log: dir.appendingPathComponent("chromium.log").path)
        try browser.open("http://127.0.0.1:\(server.port)/?autostart=1&seed=5")

        // About ten seconds of conversation: 100 frames of 80 ms sent, and answered.
        var stats: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            Thread.sleep(forTimeInterval: 0.5)
            let text = try browser.evaluate("JSON.stringify(window.moshiStats)") as? String ?? "{}"
            stats = (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
            if stats["error"] is String { break }
            if (stats["framesReceived"] as? Int ?? 0) >= 100 { break }
        }
        let shot = try browser.screenshot()
        let shotPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/browser-client.png")
        try? shot.write(to: shotPath)
        #expect(shot.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG screenshot")

        #expect(stats["error"] is NSNull || stats["error"] == nil, "page error: \(stats["error"] ?? "")")
        #expect(stats["status"] as? String == "talking", "\(stats)")
        #expect((stats["framesSent"] as? Int ?? 0) >= 100, "\(stats)")
        #expect((stats["framesReceived"] as? Int ?? 0) >= 100, "\(stats)")
        #expect((stats["samplesReceived"] as? Int ?? 0) >= 100 * 1920, "\(stats)")
        let lag = stats["replyLagP50Ms"] as? Int
        #expect(lag != nil && lag! > 0, "reply lag \(String(describing: lag))")  // its size is the machine's, not asserted
        // What the page shows: its status and the counters.
        let shown = try browser.evaluate("document.getElementById('status').textContent + '|' + document.getElementById('received').textContent") as? String
        #expect(shown?.hasPrefix("talking|") == true, "\(shown ?? "")")
        // The server's side: at least 8 s of frames went through the model.
        let served = server.statistics.snapshot
        #expect(served.frames >= 100, "\(served)")
        print("browser client: \(stats["framesSent"] ?? 0) frames sent, \(stats["framesReceived"] ?? 0) received, reply lag p50 \(lag ?? -1) ms; screenshot \(shotPath.path)")
    }
}
