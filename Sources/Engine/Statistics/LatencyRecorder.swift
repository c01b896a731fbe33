import Histogram

/// The frame loop's measurements: an HdrHistogram per stage (nanoseconds, 3 significant
/// digits, up to 60 s) and the per-frame records of the last `capacity` frames, all allocated
/// at init so that recording allocates nothing.
///
/// Ownership by thread: the compute thread records what it measures (`recordProcessed`,
/// `recordDroppedByPolicy`), the capture thread `recordLostAtCapture`, the playback thread
/// `recordDelivered` / `recordOutputDropped`; one frame's record is written by them in that
/// order (the queues between them order the writes). Others read records only for frames the
/// playback thread has published as complete, and histograms only after the loop has ended.
final class LatencyRecorder: @unchecked Sendable {  // see ownership above
    /// The processor's stage names.
    let stageNames: [String]
    /// Per-frame records kept (the last `capacity` frames).
    let capacity: Int

    static let highestTrackable: UInt64 = 60_000_000_000

    // Compute thread.
    private(set) var captureWait = LatencyRecorder.makeHistogram()
    private(set) var stages: [Histogram<UInt64>]
    private(set) var compute = LatencyRecorder.makeHistogram()
    private(set) var computeTotalNanoseconds: UInt64 = 0
    // Playback thread.
    private(set) var outputQueue = LatencyRecorder.makeHistogram()
    private(set) var measured = LatencyRecorder.makeHistogram()

    // Records, slot = index % capacity.
    private let indices: UnsafeMutablePointer<Int>
    private let outcomes: UnsafeMutablePointer<UInt8>
    private let flags: UnsafeMutablePointer<UInt8>
    private let captureTimes: UnsafeMutablePointer<UInt64>
    private let startTimes: UnsafeMutablePointer<UInt64>
    private let doneTimes: UnsafeMutablePointer<UInt64>
    private let deliveredTimes: UnsafeMutablePointer<UInt64>
    private let stageTimes: UnsafeMutablePointer<UInt64>

    private static let produced: UInt8 = 1, late: UInt8 = 2, outputDropped: UInt8 = 4, delivered: UInt8 = 8

    init(stageNames: [String], capacity: Int) {
        self.stageNames = stageNames
        self.capacity = max(1, capacity)
        stages = stageNames.map { _ in Self.makeHistogram() }
        let n = self.capacity
        indices = .allocate(capacity: n); indices.initialize(repeating: -1, count: n)
        outcomes = .allocate(capacity: n); outcomes.initialize(repeating: 0, count: n)
        flags = .allocate(capacity: n); flags.initialize(repeating: 0, count: n)
        captureTimes = .allocate(capacity: n); captureTimes.initialize(repeating: 0, count: n)
        startTimes = .allocate(capacity: n); startTimes.initialize(repeating: 0, count: n)
        doneTimes = .allocate(capacity: n); doneTimes.initialize(repeating: 0, count: n)
        deliveredTimes = .allocate(capacity: n); deliveredTimes.initialize(repeating: 0, count: n)
        stageTimes = .allocate(capacity: n * max(1, stageNames.count)); stageTimes.initialize(repeating: 0, count: n * max(1, stageNames.count))
    }

    deinit {
        indices.deallocate(); outcomes.deallocate(); flags.deallocate()
        captureTimes.deallocate(); startTimes.deallocate(); doneTimes.deallocate(); deliveredTimes.deallocate()
        stageTimes.deallocate()
    }

    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackable, numberOfSignificantValueDigits: .three)
    }

    @inline(__always)
    private static func record(_ value: UInt64, in histogram: inout Histogram<UInt64>) {
        _ = histogram.record(min(max(value, 1), highestTrackable))
    }

    // MARK: Recording (the owning thread)

    /// Compute thread: a processed frame. Times relative to the loop start.
    func recordProcessed(index: Int, capture: UInt64, start: UInt64, done: UInt64,
                         stageNanoseconds: UnsafePointer<UInt64>, producedAudio: Bool, late: Bool) {
        let slot = index % capacity
        indices[slot] = index
        outcomes[slot] = 0
        flags[slot] = (producedAudio ? Self.produced : 0) | (late ? Self.late : 0)
        captureTimes[slot] = capture
        startTimes[slot] = start
        doneTimes[slot] = done
        deliveredTimes[slot] = 0
        let stageCount = stageNames.count
        for i in 0..<stageCount {
            let value = stageNanoseconds[i]
            stageTimes[slot * stageCount + i] = value
            Self.record(value, in: &stages[i])
        }
        Self.record(start &- capture, in: &captureWait)
        Self.record(done &- start, in: &compute)
        computeTotalNanoseconds &+= done &- start
    }

    /// Compute thread: a frame the late policy dropped from the input queue.
    func recordDroppedByPolicy(index: Int, capture: UInt64) {
        recordUnprocessed(index: index, capture: capture, outcome: 1)
    }

    /// Capture thread: a frame lost because the input queue was full.
    func recordLostAtCapture(index: Int, capture: UInt64) {
        recordUnprocessed(index: index, capture: capture, outcome: 2)
    }

    private func recordUnprocessed(index: Int, capture: UInt64, outcome: UInt8) {
        let slot = index % capacity
        indices[slot] = index
        outcomes[slot] = outcome
        flags[slot] = 0
        captureTimes[slot] = capture
        startTimes[slot] = 0
        doneTimes[slot] = 0
        deliveredTimes[slot] = 0
    }

    /// Compute thread (full output queue) or playback thread (late policy): a computed frame
    /// whose output never reaches the sink.
    func recordOutputDropped(index: Int, at time: UInt64) {
        let slot = index % capacity
        guard indices[slot] == index else { return }
        flags[slot] |= Self.outputDropped
        deliveredTimes[slot] = time
    }

    /// Playback thread: frame `index`'s output handed to the sink at `time`.
    func recordDelivered(index: Int, at time: UInt64, capture: UInt64, done: UInt64, producedAudio: Bool) {
        Self.record(time &- done, in: &outputQueue)
        if producedAudio { Self.record(time &- capture, in: &measured) }
        let slot = index % capacity
        guard indices[slot] == index else { return }
        flags[slot] |= Self.delivered
        deliveredTimes[slot] = time
    }

    // MARK: Reading

    /// Frame `index`'s record, if still kept.
    func record(_ index: Int) -> FrameRecord? {
        let slot = index % capacity
        guard index >= 0, indices[slot] == index else { return nil }
        let flag = flags[slot]
        let outcome: FrameRecord.Outcome = switch outcomes[slot] {
        case 1: .droppedByPolicy
        case 2: .lostAtCapture
        default: .processed
        }
        let processed = outcome == .processed
        let stageCount = stageNames.count
        let hasDelivery = flag & (Self.delivered | Self.outputDropped) != 0
        return FrameRecord(
            index: index, outcome: outcome, captureTime: captureTimes[slot],
            startTime: processed ? startTimes[slot] : nil, doneTime: processed ? doneTimes[slot] : nil,
            deliveredTime: hasDelivery ? deliveredTimes[slot] : nil,
            stageNanoseconds: processed ? (0..<stageCount).map { stageTimes[slot * stageCount + $0] } : [],
            producedAudio: flag & Self.produced != 0, isLate: flag & Self.late != 0, outputDropped: flag & Self.outputDropped != 0)
    }
}
