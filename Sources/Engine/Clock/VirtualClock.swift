import Foundation

/// A test clock whose time moves only when every taking-part thread is blocked: then it jumps
/// to the earliest pending `sleep(until:)` deadline and wakes that one sleeper (ties: lower
/// `threadDidStart(order:)` first, then first come). A loop over it runs as fast as the CPU
/// allows and, for a given program, sees the same timestamps on every run: a processor that
/// "takes 250 ms" sleeps 250 ms of virtual time and the capture thread's frames arrive in
/// between, exactly as they would in real time.
///
/// Work done between waits takes no virtual time. Threads that did not announce themselves
/// (`threadsWillStart` + `threadDidStart`) may sleep too: they are woken when time reaches
/// their deadline but do not hold time back. Waits on anything else than this clock (a lock, a
/// device) are invisible to it: a loop over a virtual clock must block only through the clock.
package final class VirtualClock: FrameClock, @unchecked Sendable {  // state guarded by `condition`
    private struct Sleeper {
        var deadline: UInt64
        var order: Int
        var ticket: UInt64
        var takesPart: Bool
    }

    private struct Participant {
        var thread: pthread_t
        var order: Int
    }

    private let condition = NSCondition()
    private var current: UInt64
    private var running = 0
    private var sleepers: [Sleeper] = []
    private var participants: [Participant] = []
    private var woken: Set<UInt64> = []
    private var nextTicket: UInt64 = 0

    /// A clock that reads `start` nanoseconds.
    package init(start: UInt64 = 1_000_000_000) {
        current = start
        sleepers.reserveCapacity(16)
        woken.reserveCapacity(16)
    }

    package func now() -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return current
    }

    /// Moves time on by `nanoseconds` at once (for tests that drive the clock by hand, with no
    /// taking-part thread running); wakes sleepers now due.
    package func advance(by nanoseconds: UInt64) {
        condition.lock()
        current += nanoseconds
        for sleeper in sleepers where sleeper.deadline <= current {
            woken.insert(sleeper.ticket)
            if sleeper.takesPart { running += 1 }
        }
        sleepers.removeAll { $0.deadline <= current }
        condition.broadcast()
        condition.unlock()
    }

    package func sleep(until deadline: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        guard deadline > current else { return }
        let me = participant()
        let ticket = newTicket()
        sleepers.append(Sleeper(deadline: deadline, order: me?.order ?? Int.max, ticket: ticket, takesPart: me != nil))
        if me != nil { running -= 1 }
        advanceIfIdle()
        waitForWake(ticket)
    }

    package func makeSignal() -> FrameSignal { VirtualSignal(clock: self) }

    package func threadsWillStart(_ count: Int) {
        condition.lock()
        running += count
        condition.unlock()
    }

    package func threadDidStart(order: Int) {
        condition.lock()
        participants.append(Participant(thread: pthread_self(), order: order))
        condition.unlock()
    }

    package func threadWillFinish() {
        condition.lock()
        participants.removeAll { pthread_equal($0.thread, pthread_self()) != 0 }
        running -= 1
        advanceIfIdle()
        condition.unlock()
    }

    // MARK: Under the lock

    private func participant() -> Participant? {
        participants.first { pthread_equal($0.thread, pthread_self()) != 0 }
    }

    private func newTicket() -> UInt64 {
        nextTicket += 1
        return nextTicket
    }

    private func waitForWake(_ ticket: UInt64) {
        while !woken.contains(ticket) { condition.wait() }
        woken.remove(ticket)
    }

    /// When no taking-part thread runs, jumps to the earliest deadline and wakes its sleeper;
    /// sleepers that do not take part are woken on the way without stopping the jump.
    private func advanceIfIdle() {
        while running == 0, let next = sleepers.indices.min(by: { a, b in
            let x = sleepers[a], y = sleepers[b]
            return (x.deadline, x.order, x.ticket) < (y.deadline, y.order, y.ticket)
        }) {
            let sleeper = sleepers.remove(at: next)
            current = max(current, sleeper.deadline)
            woken.insert(sleeper.ticket)
            if sleeper.takesPart { running += 1 }
            condition.broadcast()
        }
    }

    // MARK: Signals

    fileprivate func wait(on signal: VirtualSignal) {
        condition.lock()
        defer { condition.unlock() }
        if signal.isSet {
            signal.isSet = false
            return
        }
        let me = participant()
        let ticket = newTicket()
        signal.waiter = (ticket, me != nil)
        if me != nil {
            running -= 1
            advanceIfIdle()
        }
        waitForWake(ticket)
    }

    fileprivate func fire(_ signal: VirtualSignal) {
        condition.lock()
        defer { condition.unlock() }
        if let waiter = signal.waiter {
            signal.waiter = nil
            woken.insert(waiter.ticket)
            if waiter.takesPart { running += 1 }
            condition.broadcast()
        } else {
            signal.isSet = true
        }
    }
}

/// `VirtualClock`'s signal: its state lives under the clock's lock.
private final class VirtualSignal: FrameSignal, @unchecked Sendable {  // state guarded by the clock's lock
    private let clock: VirtualClock
    var isSet = false
    var waiter: (ticket: UInt64, takesPart: Bool)?

    init(clock: VirtualClock) { self.clock = clock }

    func wait() { clock.wait(on: self) }
    func signal() { clock.fire(self) }
}
