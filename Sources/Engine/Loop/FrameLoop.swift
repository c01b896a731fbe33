import AudioIO
import Dispatch
import Foundation
import Logging
import Synchronization

/// The real-time frame loop: audio from an `AudioSource` through a `FrameProcessor` to an
/// `AudioSink`, one 80 ms frame at a time, on three threads of its own:
///
/// ```
/// capture ──▶ [input queue] ──▶ compute ──▶ [output queue] ──▶ playback
/// (source,     bounded SPSC     (processor,    bounded SPSC     (sink, recorder,
///  pacing,                       late policy)                    echo reference)
///  echo cancel, recorder)
/// ```
///
/// The queues are preallocated rings; threads hand frames over with atomics and wait on their
/// clock's signals, so a steady-state frame allocates nothing and takes no lock. Capture paces
/// a file source in real time on the `FrameClock` (or not at all: as fast as possible); a
/// device source paces itself. When compute falls behind, the `LatePolicy` decides which frames
/// to drop; every late and dropped frame is counted, and every frame's timestamps are recorded
/// (Docs/LATENCY.md defines them). The capture and playback threads try `SCHED_FIFO` (the
/// compute thread when asked) and fall back with one log line.
///
/// `run` blocks the calling thread until the source ends, `maxFrames` were captured or
/// `requestStop` was called, delivering `FrameLoopEvent`s (text, per-frame records, status) on
/// that thread meanwhile, then drains the queues, joins the threads and returns the
/// `ProfileReport`. A loop runs once.
package final class FrameLoop: @unchecked Sendable {  // each piece of state has one owning thread, see the extensions
    package let source: AudioSource
    package let processor: FrameProcessor
    package let sink: AudioSink
    package let configuration: FrameLoopConfiguration
    package let clock: FrameClock
    package let textDecoder: TextTokenDecoder?
    package let recorder: StereoRecorder?
    package let echoCanceller: EchoCanceller?
    /// A line naming what runs (the model), for the report.
    package let processorDescription: String

    let input: FrameRing
    let output: FrameRing
    let echoReference: FrameRing?
    let tokens: TokenRing
    let inputReady: FrameSignal
    let inputSpace: FrameSignal
    let outputReady: FrameSignal
    let outputSpace: FrameSignal
    let stats: LatencyRecorder
    let counters = LoopCounters()
    let stopRequested = Atomic<Bool>(false)
    let inputFinished = Atomic<Bool>(false)
    let outputFinished = Atomic<Bool>(false)
    let realtimeRefusal = Mutex<String?>(nil)
    let realtimeGranted = Atomic<Int>(0)
    let failures = Mutex<[String]>([])
    let hasRun = Atomic<Bool>(false)
    let threadsDone = DispatchSemaphore(value: 0)
    let logger = Logger(label: "moshi.engine")
    let allocationCounter = AllocationCounter()
    /// The loop clock's reading when the threads started; record times are relative to it.
    var startTime: UInt64 = 0

    // Scratch buffers, each owned by one thread.
    let stageScratch: UnsafeMutablePointer<UInt64>          // compute
    let computeOverflow: UnsafeMutablePointer<Float>        // compute: output when the queue is full
    let captureOverflow: UnsafeMutablePointer<Float>        // capture: input when the queue is full
    let echoScratch: UnsafeMutablePointer<Float>            // capture: the echo reference
    let silence: UnsafeMutablePointer<Float>                // read-only zeros

    /// A loop over the given parts. `clock` defaults to the real monotonic clock; tests pass a
    /// `VirtualClock`. `recorder` gets both sides of the conversation; `echoCanceller` removes
    /// from the capture what the sink played (for speakers). Throws for an unusable configuration.
    package init(source: AudioSource, processor: FrameProcessor, sink: AudioSink,
                configuration: FrameLoopConfiguration = FrameLoopConfiguration(), clock: FrameClock = MonotonicClock(),
                textDecoder: TextTokenDecoder? = nil, recorder: StereoRecorder? = nil, echoCanceller: EchoCanceller? = nil,
                processorDescription: String? = nil) throws(FrameLoopError) {
        guard (2...4096).contains(configuration.queueCapacity) else {
            throw .invalidConfiguration("queue capacity \(configuration.queueCapacity) outside 2...4096")
        }
        guard (1...10_000_000).contains(configuration.recordCapacity) else {
            throw .invalidConfiguration("record capacity \(configuration.recordCapacity) outside 1...10000000")
        }
        if let maxFrames = configuration.maxFrames, maxFrames < 0 { throw .invalidConfiguration("max frames \(maxFrames) < 0") }
        guard (0...10_000).contains(configuration.warmupFrames) else {
            throw .invalidConfiguration("warm-up frames \(configuration.warmupFrames) outside 0...10000")
        }
        switch configuration.latePolicy {
        case .dropOldest(let bound), .growLatency(let bound):
            guard bound >= 1, bound < configuration.queueCapacity else {
                throw .invalidConfiguration("late policy bound \(bound) must be 1..<queue capacity \(configuration.queueCapacity)")
            }
        }
        let names = processor.stageNames
        guard Set(names).count == names.count, !names.contains(ProfileReport.captureWaitStage), !names.contains(ProfileReport.outputQueueStage) else {
            throw .invalidConfiguration("processor stage names \(names) must be unique and differ from capture_wait and output_queue")
        }
        if let echoCanceller, FrameTiming.samplesPerFrame % echoCanceller.frameSize != 0 || echoCanceller.sampleRate != FrameTiming.sampleRate {
            throw .invalidConfiguration("echo canceller frames of \(echoCanceller.frameSize) at \(echoCanceller.sampleRate) Hz do not divide 1920-sample 24 kHz frames")
        }
        self.source = source
        self.processor = processor
        self.sink = sink
        self.configuration = configuration
        self.clock = clock
        self.textDecoder = textDecoder
        self.recorder = recorder
        self.echoCanceller = echoCanceller
        self.processorDescription = processorDescription ?? String(describing: type(of: processor))
        input = FrameRing(capacity: configuration.queueCapacity)
        output = FrameRing(capacity: configuration.queueCapacity)
        echoReference = echoCanceller == nil ? nil : FrameRing(capacity: 16)
        tokens = TokenRing(capacity: 4096)
        inputReady = clock.makeSignal()
        inputSpace = clock.makeSignal()
        outputReady = clock.makeSignal()
        outputSpace = clock.makeSignal()
        // Records must outlive every frame still in a queue.
        stats = LatencyRecorder(stageNames: processor.stageNames, capacity: max(configuration.recordCapacity, 4 * configuration.queueCapacity + 64))
        let frame = FrameTiming.samplesPerFrame
        stageScratch = .allocate(capacity: max(1, processor.stageNames.count))
        stageScratch.initialize(repeating: 0, count: max(1, processor.stageNames.count))
        computeOverflow = .allocate(capacity: frame); computeOverflow.initialize(repeating: 0, count: frame)
        captureOverflow = .allocate(capacity: frame); captureOverflow.initialize(repeating: 0, count: frame)
        echoScratch = .allocate(capacity: frame); echoScratch.initialize(repeating: 0, count: frame)
        silence = .allocate(capacity: frame); silence.initialize(repeating: 0, count: frame)
    }

    deinit {
        stageScratch.deallocate()
        computeOverflow.deallocate()
        captureOverflow.deallocate()
        echoScratch.deallocate()
        silence.deallocate()
    }

    /// Asks the loop to end: capture stops after the current frame, compute and playback
    /// finish what is queued. Any thread, any time (a signal handler's queue included).
    package func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        inputReady.signal()
        inputSpace.signal()
        outputSpace.signal()
    }

    /// Whether `requestStop` was called (or a sink failure stopped the loop).
    package var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    /// Running totals (any thread).
    package var status: FrameLoopStatus {
        var status = FrameLoopStatus()
        status.capturedFrames = counters.captured.load(ordering: .relaxed)
        status.processedFrames = counters.processed.load(ordering: .relaxed)
        status.lateFrames = counters.late.load(ordering: .relaxed)
        status.droppedInputFrames = counters.droppedByPolicy.load(ordering: .relaxed) + counters.lostAtCapture.load(ordering: .relaxed)
        status.droppedOutputFrames = counters.outputLostInQueue.load(ordering: .relaxed) + counters.outputDroppedByPolicy.load(ordering: .relaxed)
        status.outputUnderflows = counters.underflows.load(ordering: .relaxed)
        status.xruns = source.xrunCount + sink.xrunCount
        status.lastLatencyMilliseconds = Double(counters.lastLatency.load(ordering: .relaxed)) / 1e6
        let start = startTime
        status.elapsedSeconds = start == 0 ? 0 : Double(clock.now() &- start) / 1e9
        return status
    }

    /// Runs the loop to its end (see the type's documentation) and returns its report.
    /// Throws when the source, sink or recorder cannot start; failures while running (a device
    /// that vanished, a full disk) end the loop and are listed in `ProfileReport.failures`.
    package func run(onEvent: (FrameLoopEvent) -> Void = { _ in }) throws -> ProfileReport {
        guard !hasRun.exchange(true, ordering: .acquiringAndReleasing) else { throw FrameLoopError.alreadyRun }
        try source.start()
        do { try sink.start() } catch {
            source.stop()
            throw error
        }
        do { try recorder?.start() } catch {
            source.stop()
            try? sink.finish()
            throw error
        }
        warmUp()
        textDecoder?.reset()

        let wallStart = MonotonicClock.nanoseconds()
        startTime = clock.now()
        clock.threadsWillStart(3)
        startThread("moshi-capture") { $0.captureLoop() }
        startThread("moshi-compute") { $0.computeLoop() }
        startThread("moshi-playback") { $0.playbackLoop() }

        var delivery = EventDelivery()
        var finishedThreads = 0
        var nextStatus = wallStart + configuration.statusIntervalNanoseconds
        while finishedThreads < 3 {
            if threadsDone.wait(timeout: .now() + .milliseconds(20)) == .success { finishedThreads += 1 }
            deliverEvents(&delivery, onEvent)
            let now = MonotonicClock.nanoseconds()
            if now >= nextStatus {
                onEvent(.status(status))
                nextStatus = now + configuration.statusIntervalNanoseconds
            }
        }
        deliverEvents(&delivery, onEvent)
        let finalStatus = status
        onEvent(.status(finalStatus))
        let wallSeconds = Double(MonotonicClock.nanoseconds() - wallStart) / 1e9
        let elapsed = clock.now() &- startTime

        source.stop()
        do { try recorder?.finish() } catch { fail("recorder: \(error)") }
        if let refusal = realtimeRefusal.withLock({ $0 }) {
            logger.notice("real-time priority (SCHED_FIFO) not permitted: \(refusal); audio threads run at normal priority")
        }
        return makeReport(status: finalStatus, transcript: delivery.transcript, wallSeconds: wallSeconds, clockNanoseconds: elapsed)
    }

    // MARK: Shared helpers

    private func startThread(_ name: String, _ body: @escaping @Sendable (FrameLoop) -> Void) {
        let thread = Thread { [self] in
            body(self)
            threadsDone.signal()
        }
        thread.name = name
        thread.stackSize = 8 << 20  // as a main thread: the processor may keep scratch on the stack
        thread.start()
    }

    /// Runs `warmupFrames` frames of silence through the processor, then resets it.
    private func warmUp() {
        guard configuration.warmupFrames > 0 else { return }
        let frame = UnsafeMutablePointer<Float>.allocate(capacity: FrameTiming.samplesPerFrame)
        frame.initialize(repeating: 0, count: FrameTiming.samplesPerFrame)
        defer { frame.deallocate() }
        for _ in 0..<configuration.warmupFrames {
            _ = processor.process(silence, output: frame, stageNanoseconds: stageScratch)
        }
        processor.reset()
    }

    /// Called first on each loop thread: the clock learns of it, and it asks for `SCHED_FIFO`.
    func enterThread(order: Int, priority: Int32, isCompute: Bool = false) {
        clock.threadDidStart(order: order)
        guard configuration.realtimePriority, !isCompute || configuration.computeRealtimePriority else { return }
        if let refusal = RealtimePriority.enable(priority: priority) {
            realtimeRefusal.withLock { if $0 == nil { $0 = refusal } }
        } else {
            realtimeGranted.add(1, ordering: .relaxed)
        }
    }

    /// Records a failure (the loop goes on or ends as the caller decides).
    func fail(_ message: String) {
        failures.withLock { $0.append(message) }
    }

    /// Nanoseconds since `startTime` on the loop clock.
    @inline(__always)
    func sinceStart(_ time: UInt64) -> UInt64 { time &- startTime }

    // MARK: Events (the thread in `run`)

    struct EventDelivery {
        var nextRecord = 0
        var transcript = ""
    }

    private func deliverEvents(_ delivery: inout EventDelivery, _ onEvent: (FrameLoopEvent) -> Void) {
        while let (frame, token) = tokens.pop() {
            guard let textDecoder else { continue }
            let piece = textDecoder.decode(token)
            if !piece.isEmpty {
                delivery.transcript += piece
                onEvent(.text(piece, frame: frame))
            }
        }
        let completed = counters.completed.load(ordering: .acquiring)
        if completed - delivery.nextRecord > stats.capacity { delivery.nextRecord = completed - stats.capacity }
        while delivery.nextRecord < completed {
            if let record = stats.record(delivery.nextRecord) { onEvent(.frame(record)) }
            delivery.nextRecord += 1
        }
    }
}
