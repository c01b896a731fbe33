import Synchronization

/// The playback side of a network client: packets arrive from the network at uneven times and
/// leave at the speaker's even pace. A FIFO (never reordered) that starts playing once
/// `startDepth` packets are queued, holds at most `capacity` (the oldest is dropped to make
/// room, so the delay stays bounded), and when it runs dry asks for concealment (Opus PLC or
/// silence) and fills up to `startDepth` again before playing on.
///
/// Thread-safe: one thread pushes what the network brings, another pops once per played frame.
package final class PlaybackJitterBuffer<Element: Sendable>: Sendable {
    /// What the player does for the next frame.
    package enum Next: Sendable {
        /// Play this packet.
        case play(Element)
        /// Playback ran dry: conceal one frame (counted in `underflows`).
        case conceal
        /// Not started yet (filling to `startDepth`): play silence, nothing is missing.
        case wait
        /// The stream ended and everything was played.
        case ended
    }

    /// Counters since the buffer was made.
    package struct Counters: Sendable, Equatable {
        /// Packets pushed.
        package var pushed = 0
        /// Packets handed out to play.
        package var played = 0
        /// Frames concealed because the buffer ran dry while playing.
        package var underflows = 0
        /// Packets dropped (the oldest) because the buffer was full.
        package var dropped = 0
        package init() {}
    }

    private struct State {
        var queue: [Element] = []
        var head = 0
        var playing = false
        var startedOnce = false
        var finished = false
        var counters = Counters()
        var count: Int { queue.count - head }
    }

    /// Packets queued before playback starts (and restarts after running dry).
    package let startDepth: Int
    /// The most packets held; beyond it the oldest is dropped.
    package let capacity: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - startDepth: packets to queue before playing (at least 1), e.g. 2 × 80 ms.
    ///   - capacity: the most packets held (at least `startDepth`), e.g. 8 × 80 ms.
    package init(startDepth: Int = 2, capacity: Int = 8) {
        precondition(startDepth >= 1 && capacity >= startDepth, "PlaybackJitterBuffer needs 1 <= startDepth <= capacity")
        self.startDepth = startDepth
        self.capacity = capacity
    }

    /// Queues a packet from the network; returns false when the oldest had to be dropped for it.
    /// Packets pushed after `finish` are ignored (and return false).
    @discardableResult
    package func push(_ element: Element) -> Bool {
        state.withLock { s in
            guard !s.finished else { return false }
            s.counters.pushed += 1
            var dropped = false
            if s.count >= capacity {
                s.head += 1
                s.counters.dropped += 1
                dropped = true
            }
            if s.head > 64, s.head * 2 > s.queue.count {
                s.queue.removeFirst(s.head)
                s.head = 0
            }
            s.queue.append(element)
            if !s.playing, s.count >= startDepth {
                s.playing = true
                s.startedOnce = true
            }
            return !dropped
        }
    }

    /// Says no more packets will come: what is queued is played out (even below `startDepth`),
    /// then `next` returns `.ended`.
    package func finish() {
        state.withLock { $0.finished = true }
    }

    /// The next frame to play; call once per frame at the playback pace.
    package func next() -> Next {
        state.withLock { s in
            if s.count > 0, s.playing || s.finished {
                let element = s.queue[s.head]
                s.head += 1
                s.counters.played += 1
                if s.count == 0 {
                    s.queue.removeAll(keepingCapacity: true)
                    s.head = 0
                }
                return .play(element)
            }
            if s.finished, s.count == 0 { return .ended }
            if s.playing {
                // Ran dry: conceal, and fill to startDepth again before playing on.
                s.playing = false
                s.counters.underflows += 1
                return .conceal
            }
            if s.startedOnce {
                s.counters.underflows += 1
                return .conceal
            }
            return .wait
        }
    }

    /// Whether playback has started (or the stream ended): the player may begin pacing frames.
    package var isReady: Bool { state.withLock { $0.playing || $0.finished || $0.startedOnce } }

    /// Packets queued now.
    package var depth: Int { state.withLock { $0.count } }

    /// The counters so far.
    package var counters: Counters { state.withLock { $0.counters } }
}
