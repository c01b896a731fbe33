@testable import MoshiClient
import Foundation
import Testing
@testable import Server

@Suite struct PlaybackJitterBufferTests {
    /// The played elements, or a marker for each concealed / waiting frame, until `.ended` or `limit` frames.
    static func drain(_ buffer: PlaybackJitterBuffer<Int>, limit: Int = 100) -> [String] {
        var out: [String] = []
        for _ in 0..<limit {
            switch buffer.next() {
            case .play(let v): out.append("\(v)")
            case .conceal: out.append("plc")
            case .wait: out.append("wait")
            case .ended: return out + ["end"]
            }
        }
        return out
    }

    @Test func waitsForTheStartDepthThenPlaysInOrder() {
        let buffer = PlaybackJitterBuffer<Int>(startDepth: 2, capacity: 8)
        #expect(Self.drain(buffer, limit: 1) == ["wait"])
        buffer.push(1)
        #expect(!buffer.isReady)
        #expect(Self.drain(buffer, limit: 1) == ["wait"])
        buffer.push(2)
        #expect(buffer.isReady)
        for v in 3...6 { buffer.push(v) }
        buffer.finish()
        #expect(Self.drain(buffer) == ["1", "2", "3", "4", "5", "6", "end"])
        let counters = buffer.counters
        #expect(counters.pushed == 6 && counters.played == 6 && counters.underflows == 0 && counters.dropped == 0)
    }

    @Test func runningDryConcealsAndRefillsBeforePlayingOn() {
        let buffer = PlaybackJitterBuffer<Int>(startDepth: 2, capacity: 8)
        buffer.push(1)
        buffer.push(2)
        #expect(Self.drain(buffer, limit: 4) == ["1", "2", "plc", "plc"])
        buffer.push(3)
        // One packet is below the start depth: still concealing while it refills.
        #expect(Self.drain(buffer, limit: 1) == ["plc"])
        buffer.push(4)
        #expect(Self.drain(buffer, limit: 3) == ["3", "4", "plc"])
        #expect(buffer.counters.underflows == 4)
        #expect(buffer.counters.played == 4)
    }

    @Test func aFullBufferDropsTheOldest() {
        let buffer = PlaybackJitterBuffer<Int>(startDepth: 2, capacity: 4)
        var accepted: [Bool] = []
        for v in 1...7 { accepted.append(buffer.push(v)) }
        #expect(accepted == [true, true, true, true, false, false, false])
        #expect(buffer.depth == 4)
        buffer.finish()
        #expect(Self.drain(buffer) == ["4", "5", "6", "7", "end"])
        #expect(buffer.counters.dropped == 3 && buffer.counters.pushed == 7)
    }

    @Test func finishPlaysOutWhatIsBelowTheStartDepth() {
        let buffer = PlaybackJitterBuffer<Int>(startDepth: 3, capacity: 8)
        buffer.push(9)
        buffer.finish()
        #expect(!buffer.push(10))  // after the end: ignored
        #expect(Self.drain(buffer) == ["9", "end"])
        #expect(buffer.counters.underflows == 0 && buffer.counters.pushed == 1)
    }

    @Test func fifoOrderHoldsAcrossThreadsAndLongRuns() async {
        let buffer = PlaybackJitterBuffer<Int>(startDepth: 1, capacity: 10_000)
        let count = 5000
        let producer = Task.detached {
            for v in 0..<count { buffer.push(v) }
            buffer.finish()
        }
        var played: [Int] = []
        var done = false
        while !done {
            switch buffer.next() {
            case .play(let v): played.append(v)
            case .ended: done = true
            case .conceal, .wait: await Task.yield()
            }
        }
        await producer.value
        #expect(played == Array(0..<count))
        #expect(buffer.counters.dropped == 0)
    }
}
