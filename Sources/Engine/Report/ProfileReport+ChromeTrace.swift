import Foundation

extension ProfileReport {
    /// Thread ids in the trace.
    package enum TraceThread: Int, Sendable, CaseIterable {
        case capture = 1, compute = 2, playback = 3

        var name: String {
            switch self {
            case .capture: "capture"
            case .compute: "compute"
            case .playback: "playback"
            }
        }
    }

    /// The per-frame records in Chrome's trace event format (open in chrome://tracing or
    /// ui.perfetto.dev): a JSON object whose `traceEvents` hold, for every processed frame, one
    /// complete event (`"ph":"X"`, microsecond `ts` and `dur` from the loop start) per stage:
    /// `capture_wait` on the capture thread (capture to compute start), each processor stage in
    /// turn on the compute thread, `output_queue` on the playback thread (output queued to
    /// handed to the sink; absent when the output was dropped). Metadata events (`"ph":"M"`)
    /// name the process and threads. `args` carry the frame index, and `late: true` on late
    /// frames' last stage.
    package func chromeTrace() -> String {
        var events: [String] = []
        events.reserveCapacity(records.count * (processorStageNames.count + 2) + 4)
        events.append(#"{"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":"moshi frame loop"}}"#)
        for thread in TraceThread.allCases {
            events.append(#"{"name":"thread_name","ph":"M","pid":1,"tid":\#(thread.rawValue),"args":{"name":"\#(thread.name)"}}"#)
        }
        func complete(_ name: String, _ thread: TraceThread, start: UInt64, duration: UInt64, frame: Int, late: Bool = false) {
            let lateArgument = late ? #","late":true"# : ""
            events.append(#"{"name":"\#(Self.jsonEscaped(name))","cat":"frame","ph":"X","pid":1,"tid":\#(thread.rawValue),"#
                          + #""ts":\#(Self.microseconds(start)),"dur":\#(Self.microseconds(duration)),"args":{"frame":\#(frame)\#(lateArgument)}}"#)
        }
        for record in records where record.outcome == .processed {
            guard let start = record.startTime, let done = record.doneTime else { continue }
            complete(Self.captureWaitStage, .capture, start: record.captureTime, duration: start &- record.captureTime, frame: record.index)
            var stageStart = start
            for (i, name) in processorStageNames.enumerated() {
                let duration = i < record.stageNanoseconds.count ? record.stageNanoseconds[i] : 0
                complete(name, .compute, start: stageStart, duration: duration, frame: record.index,
                         late: record.isLate && i == processorStageNames.count - 1)
                stageStart &+= duration
            }
            if let queued = record.outputQueue {
                complete(Self.outputQueueStage, .playback, start: done, duration: queued, frame: record.index)
            }
        }
        return #"{"displayTimeUnit":"ms","traceEvents":["# + "\n" + events.joined(separator: ",\n") + "\n]}\n"
    }

    /// Nanoseconds as microseconds with three decimals.
    static func microseconds(_ nanoseconds: UInt64) -> String {
        "\(nanoseconds / 1000).\(String(nanoseconds % 1000).leftPadded(to: 3).replacingOccurrences(of: " ", with: "0"))"
    }

    static func jsonEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
