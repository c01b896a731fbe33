/// The capture thread: reads the source (paced on the clock, by the device, or not at all),
/// cancels echo, feeds the recorder and the input queue.
extension FrameLoop {
    func captureLoop() {
        enterThread(order: 0, priority: 80)
        defer {
            inputFinished.store(true, ordering: .releasing)
            inputReady.signal()
            clock.threadWillFinish()
        }
        let period = FrameTiming.frameDurationNanoseconds
        let clockPaced = configuration.pacing == .realTime && !source.isDevicePaced
        let lockStep = configuration.pacing == .asFastAsPossible
        var index = 0
        while !isStopRequested {
            if let maxFrames = configuration.maxFrames, index >= maxFrames { break }
            if lockStep {
                while input.isFull && !isStopRequested { inputSpace.wait() }
                if isStopRequested { break }
            }
            // A clock-paced source is read at once (so its end is known without waiting a
            // period) and its frame released at its tick.
            let allocationsBefore = allocationCounter.now()
            let slot = input.producerSamples()
            let frame = slot ?? captureOverflow
            let more: Bool
            do { more = try source.read(into: frame) } catch {
                fail("\(source.description): \(error)")
                break
            }
            guard more else { break }
            if clockPaced {
                clock.sleep(until: startTime + UInt64(index + 1) * period)
                if isStopRequested { break }
            }
            let captured = clock.now()
            cancelEcho(frame)
            recorder?.recordUser(frame)
            if slot != nil {
                input.commit(index: index, firstTime: captured)
            } else {
                stats.recordLostAtCapture(index: index, capture: sinceStart(captured))
                counters.lostAtCapture.add(1, ordering: .relaxed)
            }
            index += 1
            counters.captured.store(index, ordering: .releasing)
            inputReady.signal()
            allocationCounter.record(.capture, frame: index - 1, since: allocationsBefore)
        }
    }

    /// Removes from `frame` the echo of what the sink played (the oldest unused reference
    /// frame the playback thread queued; silence when there is none).
    private func cancelEcho(_ frame: UnsafeMutablePointer<Float>) {
        guard let echoCanceller, let echoReference else { return }
        if !echoReference.pop(into: echoScratch) {
            echoScratch.update(repeating: 0, count: FrameTiming.samplesPerFrame)
        }
        let count = FrameTiming.samplesPerFrame
        do {
            try echoCanceller.process(capture: UnsafeBufferPointer(start: frame, count: count),
                                      playback: UnsafeBufferPointer(start: echoScratch, count: count),
                                      into: UnsafeMutableBufferPointer(start: frame, count: count))
        } catch {
            fail("echo canceller: \(error)")  // sizes are checked at init; not reached
        }
    }
}
