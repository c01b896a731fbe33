import Foundation
import Testing
@testable import Engine

/// The report renderings of a real (virtual-clock) run.
@Suite(.timeLimit(.minutes(1))) struct ProfileReportTests {
    static func report(frames: Int = 30) throws -> ProfileReport {
        let clock = VirtualClock()
        let loop = try FrameLoop(source: SampleBufferSource(samples: MarkedFrames.samples(frames: frames), description: "marked"),
                                 processor: DelayProcessor(clock: clock, cost: FrameLoopTests.slowFifth), sink: NullSink(),
                                 configuration: .test(), clock: clock, processorDescription: "delay <test> & co")
        var report = try loop.run()
        report.notes = ["synthetic weights"]
        return report
    }

    @Test func jsonHasTheRequiredKeysAndSaneValues() throws {
        let report = try Self.report()
        let object = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any]
        let json = try #require(object)
        for key in ["frames", "late_frames", "dropped_frames", "rtf", "e2e_ms_p50", "e2e_ms_p99", "stages"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        #expect(json["frames"] as? Int == 30)
        #expect(json["late_frames"] as? Int == 2 && json["dropped_frames"] as? Int == 1)
        let rtf = try #require(json["rtf"] as? Double)
        #expect(abs(rtf - (28 * 10 + 280) / (29 * 80.0)) < 1e-3)
        let p50 = try #require(json["e2e_ms_p50"] as? Double), p99 = try #require(json["e2e_ms_p99"] as? Double)
        #expect(abs(p50 - 170) < 0.2 && p99 >= p50 && p99 <= 160 + 280 + 1)
        let stages = try #require(json["stages"] as? [String: [String: Any]])
        #expect(Set(stages.keys) == ["capture_wait", "copy", "work", "output_queue"])
        #expect(json["stage_order"] as? [String] == ["capture_wait", "copy", "work", "output_queue"])
        for (name, stage) in stages {
            for key in ["p50", "p90", "p99", "max"] { #expect(stage[key] is Double, "\(name).\(key)") }
        }
        let work = try #require(stages["work"])
        // HdrHistogram keeps 3 significant digits.
        #expect(abs((work["p50"] as? Double ?? 0) - 7.5) < 0.01 && abs((work["max"] as? Double ?? 0) - 210) < 0.25)
        #expect(json["notes"] as? [String] == ["synthetic weights"])
    }

    @Test func chromeTraceParsesWithOneCompleteEventPerStagePerFrame() throws {
        let report = try Self.report()
        let object = try JSONSerialization.jsonObject(with: Data(report.chromeTrace().utf8)) as? [String: Any]
        let events = try #require(object?["traceEvents"] as? [[String: Any]])
        let complete = events.filter { $0["ph"] as? String == "X" }
        // 29 processed frames (one dropped) x (capture_wait + 2 stages + output_queue).
        #expect(complete.count == 29 * 4)
        #expect(events.filter { $0["ph"] as? String == "M" }.count == 4)
        let names = Dictionary(grouping: complete) { $0["name"] as? String ?? "" }.mapValues(\.count)
        #expect(names == ["capture_wait": 29, "copy": 29, "work": 29, "output_queue": 29])
        // Frame 5's work stage: starts 2 frames + 70 ms after the frame-0 capture... precisely at
        // 480 ms + 70 ms (its copy stage), lasting 210 ms, on the compute thread.
        let work5 = try #require(complete.first { $0["name"] as? String == "work" && ($0["args"] as? [String: Any])?["frame"] as? Int == 5 })
        #expect(work5["ts"] as? Double == 550_000 && work5["dur"] as? Double == 210_000 && work5["tid"] as? Int == 2)
        #expect((work5["args"] as? [String: Any])?["late"] as? Bool == true)
    }

    @Test func htmlIsOneSelfContainedPageWithThePlotAndTheStages() throws {
        let html = try Self.report().html()
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        #expect(html.contains("aria-label=\"latency per frame\"") && html.contains("<polyline"))
        #expect(html.contains("aria-label=\"stage percentiles\"") && html.contains("aria-label=\"stages per frame\""))
        #expect(html.contains("delay &lt;test&gt; &amp; co") && !html.contains("<test>"))
        #expect(html.contains("frame 5 late") && html.contains("frame 6 dropped"))
        #expect(!html.contains("<script") && !html.contains("http://") || html.contains("http://www.w3.org/2000/svg"))
        #expect(!html.contains("src=") && !html.contains("href="))
    }

    @Test func tableListsEveryStageAndTheTotals() throws {
        let table = try Self.report().table()
        for stage in ["capture_wait", "copy", "work", "output_queue", "compute (all stages)", "end-to-end (+160 ms model)"] {
            #expect(table.contains(stage), "missing \(stage)")
        }
        #expect(table.contains("late 2, dropped 1 (input 1, output 0)"))
        #expect(table.contains("note: synthetic weights"))
    }

    @Test func microsecondsKeepThreeDecimals() {
        #expect(ProfileReport.microseconds(1_234_567) == "1234.567")
        #expect(ProfileReport.microseconds(5) == "0.005")
        #expect(ProfileReport.jsonEscaped("a\"b\\c\n\u{1}") == "a\\\"b\\\\c\\n\\u0001")
    }
}
