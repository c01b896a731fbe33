/// The playback thread: hands computed frames to the sink in frame order and finalizes each
/// frame's record. A device-paced sink gets a continuous stream (silence when nothing is
/// ready; the late policy bounds the frames waiting for it); any other sink gets exactly one
/// frame per captured frame (silence for frames with no audio), so its output lines up with
/// the input.
extension FrameLoop {
    func playbackLoop() {
        enterThread(order: 2, priority: 80)
        defer { clock.threadWillFinish() }
        var state = PlaybackState()
        if sink.isDevicePaced {
            playDevicePaced(&state)
        } else {
            playStream(&state)
        }
        // Frames captured after the last computed one (dropped or lost) still get their slot.
        let captured = counters.captured.load(ordering: .acquiring)
        if !sink.isDevicePaced {
            while state.next < captured {
                write(silence, &state)
                state.next += 1
                counters.completed.store(state.next, ordering: .releasing)
            }
        } else {
            counters.completed.store(max(state.next, captured), ordering: .releasing)
        }
        if !state.sinkFailed {
            do { try sink.finish() } catch { fail("\(sink.description): \(error)") }
        }
    }

    struct PlaybackState {
        /// The next frame index to complete.
        var next = 0
        var sinkFailed = false
        var audioStarted = false
    }

    /// Not device-paced: each frame as soon as it is computed, gaps filled with silence.
    private func playStream(_ state: inout PlaybackState) {
        while true {
            if output.count == 0 {
                var ended = false
                while output.count == 0 {
                    if outputFinished.load(ordering: .acquiring) {
                        ended = output.count == 0
                        break
                    }
                    outputReady.wait()
                }
                if ended { return }
            }
            let allocationsBefore = allocationCounter.now()
            let index = output.index()
            while state.next < index {   // dropped or lost frames: silence in their place
                write(silence, &state)
                state.next += 1
                counters.completed.store(state.next, ordering: .releasing)
            }
            let produced = output.flags() & 1 != 0
            deliver(produced: produced, &state)
            allocationCounter.record(.playback, frame: index, since: allocationsBefore)
        }
    }

    /// Device-paced: one write per period, blocking on the device.
    private func playDevicePaced(_ state: inout PlaybackState) {
        let realTime = configuration.pacing == .realTime
        while true {
            let finished = outputFinished.load(ordering: .acquiring)
            let allocationsBefore = allocationCounter.now()
            if realTime { applyLatePolicyToOutput(&state) }
            var wrote = false
            while output.count > 0 {
                let produced = output.flags() & 1 != 0
                state.next = output.index()
                deliver(produced: produced, &state)
                if produced {
                    wrote = true
                    break
                }
            }
            if !wrote {
                if finished && output.count == 0 { return }
                write(silence, &state)
                if state.audioStarted && !finished { counters.underflows.add(1, ordering: .relaxed) }
            } else {
                state.audioStarted = true
            }
            allocationCounter.record(.playback, frame: state.next, since: allocationsBefore)
        }
    }

    /// Drops the oldest frames with audio beyond the policy's bound (frames without audio on
    /// the way are completed as they are).
    private func applyLatePolicyToOutput(_ state: inout PlaybackState) {
        let waiting = output.count
        var withAudio = 0
        for offset in 0..<waiting where output.flags(at: offset) & 1 != 0 { withAudio += 1 }
        var drop = configuration.latePolicy.framesToDrop(waiting: withAudio)
        while drop > 0 && output.count > 0 {
            let index = output.index()
            if output.flags() & 1 != 0 {
                stats.recordOutputDropped(index: index, at: sinceStart(clock.now()))
                counters.outputDroppedByPolicy.add(1, ordering: .relaxed)
                drop -= 1
            } else {
                stats.recordDelivered(index: index, at: sinceStart(clock.now()), capture: sinceStart(output.firstTime()), done: sinceStart(output.secondTime()), producedAudio: false)
            }
            output.pop()
            outputSpace.signal()
            state.next = index + 1
            counters.completed.store(state.next, ordering: .releasing)
        }
    }

    /// Hands the oldest queued frame to the sink (its audio, or silence in stream mode when it
    /// has none; nothing in device mode) and completes it.
    private func deliver(produced: Bool, _ state: inout PlaybackState) {
        let index = output.index()
        let now = clock.now()
        if produced {
            write(UnsafePointer(output.samples()), &state)
        } else if !sink.isDevicePaced {
            write(silence, &state)
        }
        let capture = output.firstTime(), done = output.secondTime()
        stats.recordDelivered(index: index, at: sinceStart(now), capture: sinceStart(capture), done: sinceStart(done), producedAudio: produced)
        if produced { counters.lastLatency.store(now &- capture, ordering: .relaxed) }
        output.pop()
        outputSpace.signal()
        state.next = index + 1
        counters.completed.store(state.next, ordering: .releasing)
    }

    /// One frame to the sink, the recorder and the echo reference. After a sink failure the
    /// loop is stopped and frames are discarded (the queues keep draining).
    private func write(_ frame: UnsafePointer<Float>, _ state: inout PlaybackState) {
        if !state.sinkFailed {
            do { try sink.write(frame) } catch {
                state.sinkFailed = true
                fail("\(sink.description): \(error)")
                requestStop()
            }
        }
        recorder?.recordModel(frame)
        echoReference?.push(frame, index: 0, firstTime: 0)
    }
}
