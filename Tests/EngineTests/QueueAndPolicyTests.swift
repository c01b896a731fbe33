import Testing
@testable import Engine

@Suite struct FrameRingTests {
    @Test func framesComeOutInOrderWithTheirMetadataUntilFull() {
        let ring = FrameRing(capacity: 3, frameSize: 4)
        var frame: [Float] = [0, 0, 0, 0]
        for i in 0..<3 {
            frame = [Float](repeating: Float(i), count: 4)
            #expect(ring.push(frame, index: 10 + i, firstTime: UInt64(100 + i), secondTime: UInt64(200 + i), flags: UInt32(i)))
        }
        #expect(ring.isFull && ring.count == 3)
        #expect(!ring.push(frame, index: 99, firstTime: 0))
        #expect(ring.index(at: 2) == 12 && ring.firstTime(at: 1) == 101 && ring.secondTime(at: 2) == 202 && ring.flags(at: 2) == 2)
        var out: [Float] = [9, 9, 9, 9]
        #expect(ring.pop(into: &out))
        #expect(out == [0, 0, 0, 0] && ring.count == 2 && !ring.isFull)
        // Wraps around.
        #expect(ring.push([7, 7, 7, 7], index: 13, firstTime: 103))
        #expect((0..<3).map { ring.index(at: $0) } == [11, 12, 13])
        #expect(ring.samples(at: 2)[3] == 7)
        ring.pop(); ring.pop(); ring.pop()
        #expect(ring.count == 0 && !ring.pop(into: &out))
    }

    @Test func tokensQueueUpToCapacity() {
        let ring = TokenRing(capacity: 2)
        #expect(ring.push(frame: 1, token: 10) && ring.push(frame: 2, token: 20) && !ring.push(frame: 3, token: 30))
        let first = ring.pop()
        #expect(first?.frame == 1 && first?.token == 10)
        #expect(ring.pop()?.token == 20 && ring.pop() == nil)
    }
}

@Suite struct LatePolicyTests {
    @Test func dropOldestKeepsTheNewestBound() {
        let policy = LatePolicy.dropOldest(maxQueued: 2)
        #expect((0...5).map { policy.framesToDrop(waiting: $0) } == [0, 0, 0, 1, 2, 3])
    }

    @Test func growLatencyCutsToTheNewestPastItsBound() {
        let policy = LatePolicy.growLatency(maxFrames: 3)
        #expect((0...6).map { policy.framesToDrop(waiting: $0) } == [0, 0, 0, 0, 3, 4, 5])
    }

    @Test func policiesParseFromTheirDescription() {
        for policy in [LatePolicy.dropOldest(maxQueued: 2), .dropOldest(maxQueued: 7), .growLatency(maxFrames: 25)] {
            #expect(LatePolicy(parsing: policy.description) == policy)
        }
        #expect(LatePolicy(parsing: "drop-oldest") == .dropOldest(maxQueued: 2))
        #expect(LatePolicy(parsing: "grow-latency") == .growLatency(maxFrames: 25))
        for bad in ["", "drop", "drop-oldest:0", "grow-latency:x", "grow-latency:5000"] { #expect(LatePolicy(parsing: bad) == nil) }
    }
}
