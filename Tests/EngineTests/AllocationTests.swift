import AudioIO
import Foundation
import Testing
@testable import Engine

/// Steady-state frames allocate nothing: the test re-runs itself in a child process with the
/// counting allocator (scripts/alloc_count/moshi_alloc_count.c, built here with cc) preloaded,
/// and the child counts the heap allocations of the loop's capture, compute and playback
/// threads from frame 10 on, on the real clock, with a WAV sink, the stereo recorder, the
/// echo canceller and text tokens in play.
@Suite(.timeLimit(.minutes(2))) struct AllocationTests {
    static let childVariable = "MOSHI_ENGINE_ALLOCATION_CHILD"

    @Test func steadyStateFramesAllocateNothing() throws {
        if ProcessInfo.processInfo.environment[Self.childVariable] != nil {
            try Self.countInThisProcess()
        } else {
            try Self.runChild()
        }
    }

    static func countInThisProcess() throws {
        let directory = TemporaryDirectory()
        let frames = 60
        var configuration = FrameLoopConfiguration.test(pacing: .asFastAsPossible)
        configuration.maxFrames = frames
        let loop = try FrameLoop(
            source: SyntheticSource(.tone(frequency: 300, amplitude: 0.3)),
            processor: DelayProcessor(clock: nil, tokenEvery: 3), sink: WAVFileSink(path: directory.path("out.wav")),
            configuration: configuration, clock: MonotonicClock(), textDecoder: ClosureTextDecoder { "t\($0) " },
            recorder: StereoRecorder(path: directory.path("rec.wav")), echoCanceller: try EchoCanceller())
        let report = try loop.run()
        let allocations = try #require(report.allocations, "the counting allocator is not loaded")
        #expect(report.frames == frames && report.failures.isEmpty)
        let steady = frames - AllocationCounter.steadyStateFrom
        #expect(allocations.captureFrames == steady && allocations.computeFrames == steady && allocations.playbackFrames == steady)
        #expect(allocations.captureAllocations == 0, "capture thread: \(allocations.captureAllocations) allocations")
        #expect(allocations.computeAllocations == 0, "compute thread: \(allocations.computeAllocations) allocations")
        #expect(allocations.playbackAllocations == 0, "playback thread: \(allocations.playbackAllocations) allocations")
        // The counter does count: the text decoding on this thread allocates.
        #expect(report.transcript.hasPrefix("t0 t3 t6 "))
    }

    static func runChild() throws {
        let directory = TemporaryDirectory()
        let shim = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/alloc_count/moshi_alloc_count.c").path
        let library = directory.path("libmoshi_alloc_count.so")
        let compile = try run("/usr/bin/env", ["cc", "-O2", "-shared", "-fPIC", "-o", library, shim], environment: [:])
        try #require(compile.status == 0, "cannot build the counting allocator: \(compile.output)")

        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let child = try run(executable, ["--testing-library", "swift-testing", "--filter", "AllocationTests/steadyStateFramesAllocateNothing"],
                            environment: ["LD_PRELOAD": library, childVariable: "1"])
        #expect(child.status == 0, "child run failed:\n\(child.output)")
        #expect(child.output.contains("steadyStateFramesAllocateNothing() passed"), "child output:\n\(child.output)")
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
