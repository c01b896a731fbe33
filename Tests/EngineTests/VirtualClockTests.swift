import Foundation
import Synchronization
import Testing
@testable import Engine

@Suite(.timeLimit(.minutes(1))) struct VirtualClockTests {
    @Test func timeMovesOnlyWhenEveryThreadWaitsAndWakesTheEarliestFirst() {
        let clock = VirtualClock(start: 0)
        let log = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        clock.threadsWillStart(2)
        for (order, deadlines) in [(0, [30, 10]), (1, [20, 40])] {
            Thread {
                clock.threadDidStart(order: order)
                for deadline in deadlines {
                    clock.sleep(until: UInt64(deadline))
                    let now = clock.now()
                    log.withLock { $0.append("\(order)@\(now)") }
                }
                clock.threadWillFinish()
                done.signal()
            }.start()
        }
        done.wait(); done.wait()
        // Thread 0 sleeps to 30 then "10" (already past: no wait); thread 1 to 20, then 40.
        #expect(log.withLock { $0 } == ["1@20", "0@30", "0@30", "1@40"])
        #expect(clock.now() == 40)
    }

    @Test func tiesGoToTheLowerOrder() {
        let clock = VirtualClock(start: 0)
        let log = Mutex<[Int]>([])
        let done = DispatchSemaphore(value: 0)
        clock.threadsWillStart(3)
        for order in [2, 0, 1] {
            Thread {
                clock.threadDidStart(order: order)
                clock.sleep(until: 100)
                log.withLock { $0.append(order) }
                clock.sleep(until: 200)  // holds the others back until all have logged
                clock.threadWillFinish()
                done.signal()
            }.start()
        }
        for _ in 0..<3 { done.wait() }
        #expect(log.withLock { $0 } == [0, 1, 2])
    }

    @Test func aSignalWakesItsWaiterWithoutMovingTime() {
        let clock = VirtualClock(start: 5)
        let signal = clock.makeSignal()
        let woke = Mutex<UInt64>(0)
        let done = DispatchSemaphore(value: 0)
        clock.threadsWillStart(2)
        Thread {
            clock.threadDidStart(order: 0)
            signal.wait()
            let now = clock.now()
            woke.withLock { $0 = now }
            clock.threadWillFinish()
            done.signal()
        }.start()
        Thread {
            clock.threadDidStart(order: 1)
            clock.sleep(until: 50)
            signal.signal()
            clock.threadWillFinish()
            done.signal()
        }.start()
        done.wait(); done.wait()
        #expect(woke.withLock { $0 } == 50)
    }

    @Test func aSignalBeforeTheWaitIsKeptOnce() {
        let clock = VirtualClock()
        let signal = clock.makeSignal()
        signal.signal()
        signal.signal()
        signal.wait()  // returns at once: armed
        #expect(clock.now() == 1_000_000_000)
    }

    @Test func advanceMovesTimeByHand() {
        let clock = VirtualClock(start: 10)
        clock.advance(by: 15)
        #expect(clock.now() == 25)
        clock.sleep(until: 20)  // in the past: returns
        #expect(clock.now() == 25)
    }

    @Test func theRealClockSleepsUntilItsDeadline() {
        let clock = MonotonicClock()
        let start = clock.now()
        clock.sleep(until: start + 3_000_000)
        #expect(clock.now() >= start + 3_000_000)
        let signal = clock.makeSignal()
        signal.signal()
        signal.wait()
        let done = DispatchSemaphore(value: 0)
        Thread {
            signal.wait()
            done.signal()
        }.start()
        usleep(2000)
        signal.signal()
        #expect(done.wait(timeout: .now() + 5) == .success)
    }
}
