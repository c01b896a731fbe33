import Glibc
import Mimi
import Testing

@Suite("Mimi streaming state")
struct MimiStreamingStateTests {
    @Test("reset() makes the encoder repeat the first frames' codes", arguments: ["seed0", "seed1"])
    func encoderReset(name: String) throws {
        let fixture = try MimiFixture(name)
        let frames = try fixture.inputFrames()
        let reference = try fixture.codeFrames()
        let encoder = MimiEncoder(weights: try fixture.weights())
        // Run past the ring wrap so every piece of state is non-trivial, then reset.
        for frame in frames.prefix(9) { _ = encoder.step(frame) }
        #expect(encoder.frames == 9)
        encoder.reset()
        #expect(encoder.frames == 0)
        for f in 0..<5 {
            #expect(encoder.step(frames[f]) == reference[f], "frame \(f) after reset")
        }
    }

    @Test("reset() makes the decoder repeat the first frames' samples exactly", arguments: ["seed0", "seed1"])
    func decoderReset(name: String) throws {
        let fixture = try MimiFixture(name)
        let codes = try fixture.codeFrames()
        let decoder = MimiDecoder(weights: try fixture.weights())
        let first = try codes.prefix(5).map { try decoder.step($0) }
        for frame in codes[5..<12] { _ = try decoder.step(frame) }
        decoder.reset()
        for f in 0..<5 {
            #expect(try decoder.step(codes[f]) == first[f], "frame \(f) after reset")
        }
    }

    @Test("encoders and decoders sharing one MimiWeights keep separate state")
    func sharedWeights() throws {
        let fixture = try MimiFixture("seed0")
        let weights = try fixture.weights()
        let frames = try fixture.inputFrames()
        let reference = try fixture.codeFrames()
        let a = MimiEncoder(weights: weights)
        let b = MimiEncoder(weights: weights)
        for f in 0..<8 {
            #expect(a.step(frames[f]) == reference[f])
            if f >= 3 { #expect(b.step(frames[f - 3]) == reference[f - 3]) }
        }
    }

    @Test("the decoder rejects a code outside the codebook or a wrong code count, leaving its state unchanged")
    func invalidCodes() throws {
        let fixture = try MimiFixture("seed0")
        let weights = try fixture.weights()
        let codes = try fixture.codeFrames()
        let decoder = MimiDecoder(weights: weights)
        var bad = codes[0]
        bad[3] = Int32(fixture.config.codebookSize)
        #expect(throws: MimiError.self) { _ = try decoder.step(bad) }
        bad[3] = -1
        #expect(throws: MimiError.self) { _ = try decoder.step(bad) }
        #expect(throws: MimiError.self) { _ = try decoder.step(Array(codes[0].prefix(7))) }
        #expect(decoder.frames == 0)
        let fresh = MimiDecoder(weights: weights)
        #expect(try decoder.step(codes[0]) == (try fresh.step(codes[0])))
    }

    @Test("steady-state step does not grow the heap (glibc mallinfo2, in a forked single-threaded child)",
          .enabled(if: HeapUsage.available, "needs glibc's mallinfo2 on x86-64"))
    func noHeapGrowth() throws {
        let fixture = try MimiFixture("seed1")
        let weights = try fixture.weights()
        let encoder = MimiEncoder(weights: weights)
        let decoder = MimiDecoder(weights: weights)
        let frames = try fixture.inputFrames()
        let codes = UnsafeMutableBufferPointer<Int32>.allocate(capacity: encoder.codebooks)
        let samples = UnsafeMutableBufferPointer<Float>.allocate(capacity: decoder.frameSize)
        let input = UnsafeMutableBufferPointer<Float>.allocate(capacity: encoder.frameSize)
        defer { codes.deallocate(); samples.deallocate(); input.deallocate() }

        func run(_ f: Int) {
            frames[f % frames.count].withUnsafeBufferPointer { input.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
            encoder.step(UnsafeBufferPointer(input), codes: codes)
            try! decoder.step(UnsafeBufferPointer(codes), samples: samples)
        }
        for f in 0..<3 { run(f) }          // warm-up (OpenBLAS sets up its buffers once)

        // Other tests allocate concurrently in this process, so measure in a child, where only
        // this thread exists. Exit status: 0 no growth, 1 growth, 2 the probe saw nothing.
        let child = fork()
        if child == 0 {
            for f in 3..<6 { run(f) }          // settle after the fork
            let before = HeapUsage.current()!
            for f in 6..<40 { run(f) }
            let after = HeapUsage.current()!
            let probe = malloc(4096)
            _ = write(-1, probe, 1)            // (so the allocation cannot be optimised away)
            let probed = HeapUsage.current()!
            free(probe)
            _exit(after != before ? 1 : probed == after ? 2 : 0)
        }
        #expect(child > 0, "fork failed")
        var status: Int32 = 0
        var waited: pid_t = 0
        for _ in 0..<600 {             // at most 60 s
            waited = waitpid(child, &status, WNOHANG)
            if waited != 0 { break }
            usleep(100_000)
        }
        if waited == 0 { kill(child, SIGKILL); _ = waitpid(child, &status, 0) }
        #expect(waited == child, "the child did not finish")
        #expect(status & 0x7f == 0, "the child was killed by signal \(status & 0x7f)")
        let code = (status >> 8) & 0xff
        #expect(code != 1, "heap bytes in use grew over 34 encode + decode steps")
        #expect(code != 2, "the heap probe did not see a 4 KB allocation")
        #expect(code == 0)
    }
}

/// Bytes the process has allocated from the heap, from glibc's `mallinfo2()` (`uordblks` +
/// `hblkhd`: in-use arena bytes and mmapped chunks). Swift cannot import `<malloc.h>`, so the
/// function is looked up with `dlsym`; it returns its ten-`size_t` struct through a hidden
/// result pointer, which on SysV x86-64 is passed as the first argument (%rdi), so it is called
/// as a function of that pointer.
enum HeapUsage {
    #if arch(x86_64) && os(Linux)
    private typealias Function = @convention(c) (UnsafeMutablePointer<Int>) -> UnsafeMutableRawPointer?
    private static let function: Function? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallinfo2")
        .map { unsafeBitCast($0, to: Function.self) }
    #else
    private static let function: ((UnsafeMutablePointer<Int>) -> UnsafeMutableRawPointer?)? = nil
    #endif

    static var available: Bool { function != nil }

    static func current() -> Int? {
        guard let function else { return nil }
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 10) { fields in
            _ = function(fields.baseAddress!)
            return fields[7] + fields[4]     // uordblks + hblkhd
        }
    }
}
