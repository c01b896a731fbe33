import ArgumentParser
import Foundation
import Testing
@testable import MoshiCLI

@Suite(.timeLimit(.minutes(2))) struct ProfileCommandTests {
    final class Directory: Sendable {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-profile-\(UUID().uuidString)")
        init() { try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    }

    static func run(_ arguments: [String]) throws {
        var command = try MoshiCommand.parseAsRoot(["profile"] + arguments)
        try command.run()
    }

    @Test func profileWritesTheJSONTraceAndHTMLReports() throws {
        let directory = Directory()
        try Self.run(["--fast", "--frames", "20", "--no-realtime-priority", "--json", directory.path("p.json"),
                      "--trace", directory.path("p.trace.json"), "--report", directory.path("p.html"), "--output", directory.path("out.wav")])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.path("p.json")))) as? [String: Any])
        #expect(json["frames"] as? Int == 20 && json["pacing"] as? String == "as-fast-as-possible")
        for key in ["late_frames", "dropped_frames", "rtf", "e2e_ms_p50", "e2e_ms_p99"] { #expect(json[key] != nil, "missing \(key)") }
        // End to end = the pipeline's algorithmic latency (one frame captured + the model's one
        // frame of acoustic delay = 160 ms) + what was measured from capture to playback, which
        // holds at least the frame's compute. (The exact timing of the loop is FrameLoopTests',
        // on a virtual clock.)
        let algorithmic = try #require(json["algorithmic_latency_ms"] as? Double)
        let e2e = try #require(json["e2e_ms_p50"] as? Double)
        let measured = try #require(json["measured_ms_p50"] as? Double)
        let compute = try #require(json["compute_ms_p50"] as? Double)
        #expect(algorithmic == 160)
        #expect(abs(e2e - (algorithmic + measured)) < 0.002, "e2e \(e2e) != \(algorithmic) + \(measured)")
        #expect(compute > 0 && measured >= compute - 0.002, "measured \(measured) < compute \(compute)")
        #expect(json["processed_frames"] as? Int == 20 && json["dropped_frames"] as? Int == 0)
        let stages = try #require(json["stages"] as? [String: [String: Double]])
        #expect(stages["capture_wait"] != nil && stages["output_queue"] != nil && stages.count >= 3)
        #expect((json["notes"] as? [String])?.first?.contains("synthetic") == true)

        let trace = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.path("p.trace.json")))) as? [String: Any])
        let events = try #require(trace["traceEvents"] as? [[String: Any]])
        #expect(events.filter { $0["ph"] as? String == "X" }.count == 20 * stages.count)

        let html = try String(contentsOfFile: directory.path("p.html"), encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("latency per frame"))
        let wav = try Data(contentsOf: URL(fileURLWithPath: directory.path("out.wav")))
        #expect(wav.count == 44 + 20 * 1920 * 2)
    }

    @Test func badArgumentsAreClearErrors() {
        for arguments in [["--mic", "--input", "x.wav"], ["--frames", "0"], ["--late-policy", "sometimes"], ["hw:1,0"],
                          ["--mic", "--fast"], ["--deadline-slack-ms", "-1"]] {
            #expect(throws: (any Error).self, "\(arguments)") { _ = try MoshiCommand.parseAsRoot(["profile"] + arguments) }
        }
        let parsed = try? MoshiCommand.parseAsRoot(["profile", "--mic", "hw:1,0"]) as? ProfileCommand
        #expect(parsed?.mic == true && parsed?.micDevice == "hw:1,0")
    }

    @Test func aMissingInputFileIsAnErrorNotACrash() {
        #expect(throws: (any Error).self) { try Self.run(["--input", "/nonexistent/speech.wav", "--fast", "--frames", "2"]) }
    }
}
