/// What the frame loop does when compute falls behind real time and frames pile up in a queue
/// (the input queue before compute, and for a device-paced sink the output queue before the
/// speaker). Applied only under real-time pacing; as-fast-as-possible runs drop nothing.
/// Docs/LATENCY.md gives the worked example.
package enum LatePolicy: Sendable, Equatable, CustomStringConvertible {
    /// Stay live: whenever more than `maxQueued` frames wait, the oldest are dropped until
    /// `maxQueued` wait. Extra latency never exceeds `maxQueued` frames per queue; a long stall
    /// costs the frames beyond the bound.
    case dropOldest(maxQueued: Int)
    /// Keep every frame while latency grows, up to `maxFrames` waiting; when more wait, drop
    /// all of them but the newest, back to live in one cut.
    case growLatency(maxFrames: Int)

    /// The default: stay live with at most 2 frames (160 ms) waiting.
    package static let `default` = LatePolicy.dropOldest(maxQueued: 2)

    /// How many of the oldest of `waiting` queued frames to drop now.
    @inline(__always)
    package func framesToDrop(waiting: Int) -> Int {
        switch self {
        case .dropOldest(let maxQueued):
            return max(0, waiting - max(1, maxQueued))
        case .growLatency(let maxFrames):
            return waiting > max(1, maxFrames) ? waiting - 1 : 0
        }
    }

    /// `drop-oldest:2`, `grow-latency:25`: the form `init(parsing:)` reads.
    package var description: String {
        switch self {
        case .dropOldest(let maxQueued): "drop-oldest:\(maxQueued)"
        case .growLatency(let maxFrames): "grow-latency:\(maxFrames)"
        }
    }

    /// Reads `drop-oldest[:N]` or `grow-latency[:N]` (N frames, 1...1000; defaults 2 and 25).
    package init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let kind = parts.first else { return nil }
        var bound: Int?
        if parts.count == 2 {
            guard let value = Int(parts[1]), (1...1000).contains(value) else { return nil }
            bound = value
        }
        switch kind {
        case "drop-oldest": self = .dropOldest(maxQueued: bound ?? 2)
        case "grow-latency": self = .growLatency(maxFrames: bound ?? 25)
        default: return nil
        }
    }
}
