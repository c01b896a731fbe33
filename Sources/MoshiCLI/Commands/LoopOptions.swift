import ArgumentParser
import Engine
import Settings

/// How the frame loop behaves when it falls behind and at what priority its threads run:
/// shared by `moshi profile` and `moshi chat`.
struct LoopOptions: ParsableArguments {
    @Option(name: .customLong("late-policy"), help: ArgumentHelp("When compute falls behind: drop-oldest[:N] or grow-latency[:N] (frames; default engine.late_policy).", valueName: "policy"))
    var latePolicy: String?

    @Flag(name: .customLong("no-realtime-priority"), help: "Do not ask for SCHED_FIFO for the audio threads.")
    var noRealtimePriority = false

    @Flag(name: .customLong("realtime-compute"), help: "Ask SCHED_FIFO for the compute thread as well (Docs/LATENCY.md says when that helps).")
    var realtimeCompute = false

    func validate() throws {
        if let latePolicy, LatePolicy(parsing: latePolicy) == nil {
            throw ValidationError("--late-policy: expected drop-oldest[:N] or grow-latency[:N], N in 1...1000")
        }
    }

    /// The policy from the flag, else the settings (`engine.late_policy`), else the default.
    func policy(_ settings: Settings) -> LatePolicy {
        LatePolicy(parsing: latePolicy ?? settings[SettingsCatalog.latePolicy]) ?? .default
    }
}
