/// The compute thread: applies the late policy to the input queue, runs the processor on the
/// oldest frame, times it, and queues the output and the text token.
extension FrameLoop {
    func computeLoop() {
        enterThread(order: 1, priority: 70, isCompute: true)
        defer {
            outputFinished.store(true, ordering: .releasing)
            outputReady.signal()
            clock.threadWillFinish()
        }
        let period = FrameTiming.frameDurationNanoseconds
        let realTime = configuration.pacing == .realTime
        let policy = configuration.latePolicy
        let slack = configuration.deadlineSlackNanoseconds
        let stageCount = processor.stageNames.count

        while true {
            // The next frame, or the end once capture has finished and the queue is empty.
            if input.count == 0 {
                var ended = false
                while input.count == 0 {
                    if inputFinished.load(ordering: .acquiring) {
                        ended = input.count == 0
                        break
                    }
                    inputReady.wait()
                }
                if ended { return }
            }

            let allocationsBefore = allocationCounter.now()
            if realTime {
                let drop = policy.framesToDrop(waiting: input.count)
                for _ in 0..<drop {
                    stats.recordDroppedByPolicy(index: input.index(), capture: sinceStart(input.firstTime()))
                    counters.droppedByPolicy.add(1, ordering: .relaxed)
                    input.pop()
                }
                if drop > 0 { inputSpace.signal() }
            }

            var slot = output.producerSamples()
            if slot == nil && !realTime {
                while output.isFull { outputSpace.wait() }
                slot = output.producerSamples()
            }
            let target = slot ?? computeOverflow
            let index = input.index()
            let start = clock.now()
            let capture = realTime ? input.firstTime() : start
            stageScratch.update(repeating: 0, count: stageCount)
            let result = processor.process(UnsafePointer(input.samples()), output: target, stageNanoseconds: stageScratch)
            let done = clock.now()
            input.pop()
            inputSpace.signal()

            let late = done > capture + period + slack
            stats.recordProcessed(index: index, capture: sinceStart(capture), start: sinceStart(start), done: sinceStart(done),
                                  stageNanoseconds: stageScratch, producedAudio: result.producedAudio, late: late)
            counters.processed.add(1, ordering: .relaxed)
            if late { counters.late.add(1, ordering: .relaxed) }
            if let token = result.textToken { tokens.push(frame: index, token: token) }
            if slot != nil {
                output.commit(index: index, firstTime: capture, secondTime: done, flags: result.producedAudio ? 1 : 0)
                outputReady.signal()
            } else {
                stats.recordOutputDropped(index: index, at: sinceStart(done))
                counters.outputLostInQueue.add(1, ordering: .relaxed)
            }
            allocationCounter.record(.compute, frame: index, since: allocationsBefore)
        }
    }

}
