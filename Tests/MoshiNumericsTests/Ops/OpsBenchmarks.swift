import Foundation
import Testing
@testable import MoshiNumerics

/// Timings of the primitives at the sizes Mimi and the LM use per 80 ms frame. Off by default
/// (timings are not assertions); run with `MOSHI_OPS_BENCH=1 swift test --filter OpsBenchmarks`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MOSHI_OPS_BENCH"] != nil))
struct OpsBenchmarks {
    /// Median wall time of `body` over `repeats` runs, in microseconds.
    func median(_ repeats: Int = 21, _ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            body()
            let d = ContinuousClock.now - start
            times.append(Double(d.components.attoseconds) / 1e12 + Double(d.components.seconds) * 1e6)
        }
        return times.sorted()[repeats / 2]
    }

    /// (cin, cout, k, stride, input length) of every convolution one streaming Mimi frame runs.
    static let encoderConvs: [(Int, Int, Int, Int, Int)] = [
        (1, 64, 7, 1, 1926), (64, 32, 3, 1, 1922), (32, 64, 1, 1, 1920), (64, 128, 8, 4, 1924),
        (128, 64, 3, 1, 482), (64, 128, 1, 1, 480), (128, 256, 10, 5, 485),
        (256, 128, 3, 1, 98), (128, 256, 1, 1, 96), (256, 512, 12, 6, 102),
        (512, 256, 3, 1, 18), (256, 512, 1, 1, 16), (512, 1024, 16, 8, 24), (1024, 512, 3, 1, 4), (512, 512, 4, 2, 4),
    ]
    static let decoderConvs: [(Int, Int, Int, Int, Int)] = [
        (512, 1024, 7, 1, 8), (512, 256, 3, 1, 18), (256, 512, 1, 1, 16), (256, 128, 3, 1, 98), (128, 256, 1, 1, 96),
        (128, 64, 3, 1, 482), (64, 128, 1, 1, 480), (64, 32, 3, 1, 1922), (32, 64, 1, 1, 1920), (64, 1, 3, 1, 1922),
    ]
    /// (cin, cout, k, stride, input length, groups) of the transposed convolutions of one decoded frame.
    static let decoderTransposed: [(Int, Int, Int, Int, Int, Int)] = [
        (512, 512, 4, 2, 1, 512), (1024, 512, 16, 8, 2, 1), (512, 256, 12, 6, 16, 1),
        (256, 128, 10, 5, 96, 1), (128, 64, 8, 4, 480, 1),
    ]

    func convTime(_ shapes: [(Int, Int, Int, Int, Int)], algorithm: ConvolutionAlgorithm = .automatic) throws -> Double {
        var data = TestData(seed: 1)
        var total = 0.0
        for (cin, cout, k, s, t) in shapes {
            let w = data.normals(cout * cin * k, scale: 0.05), b = data.normals(cout), x = data.normals(cin * t)
            try w.withUnsafeBufferPointer { wp in try b.withUnsafeBufferPointer { bp in
                let conv = try Conv1d(inChannels: cin, outChannels: cout, kernelSize: k, stride: s, weight: wp.baseAddress!, bias: bp.baseAddress!,
                                      algorithm: algorithm)
                var out = [Float](repeating: 0, count: cout * conv.outputLength(inputLength: t))
                var scratch = [Float](repeating: 0, count: max(conv.scratchCount(inputLength: t), 1))
                let us = median {
                    conv.apply(input: x, inputLength: t, output: &out, scratch: &scratch)
                }
                if ProcessInfo.processInfo.environment["MOSHI_OPS_BENCH"] == "verbose" {
                    let tOut = conv.outputLength(inputLength: t)
                    print(String(format: "  conv %4d->%4d k%2d s%d T%4d %@: %7.0f us, %5.1f GFLOP/s", cin, cout, k, s, t, "\(conv.algorithm)", us,
                                 2e-3 * Double(cin * cout * k * tOut) / us))
                }
                total += us
            } }
        }
        return total
    }

    @Test func mimiFrame() throws {
        let encoder = try convTime(Self.encoderConvs)
        var decoder = try convTime(Self.decoderConvs)
        var data = TestData(seed: 2)
        for (cin, cout, k, s, t, g) in Self.decoderTransposed {
            let w = data.normals(cin * (cout / g) * k, scale: 0.05), x = data.normals(cin * t)
            try w.withUnsafeBufferPointer { wp in
                let conv = try ConvTranspose1d(inChannels: cin, outChannels: cout, kernelSize: k, stride: s, groups: g, weight: wp.baseAddress!, bias: nil)
                var out = [Float](repeating: 0, count: cout * conv.outputLength(inputLength: t))
                var scratch = [Float](repeating: 0, count: max(conv.scratchCount(inputLength: t), 1))
                let us = median { conv.apply(input: x, inputLength: t, output: &out, scratch: &scratch) }
                if ProcessInfo.processInfo.environment["MOSHI_OPS_BENCH"] == "verbose" {
                    print(String(format: "  convtr %4d->%4d k%2d s%d T%4d g%d: %7.0f us, %5.1f GFLOP/s", cin, cout, k, s, t, g, us,
                                 2e-3 * Double(cin * (cout / g) * k * t) / us))
                }
                decoder += us
            }
        }
        // ELU runs over ~2.5 * C * T values per SEANet stage: about 545k per direction per frame.
        var elus = data.normals(545_000)
        let elu = median { eluInPlace(&elus, count: elus.count) ; elus.withUnsafeMutableBufferPointer { _ in } }
        var g = data.normals(2 * 2048 * 16)  // 2 transformers x 8 layers x T=2 x 2048
        let gelu = median { geluInPlace(&g, count: g.count) }
        if ProcessInfo.processInfo.environment["MOSHI_OPS_BENCH"] == "verbose" {
            _ = try convTime([(64, 1, 3, 1, 1922), (1, 64, 7, 1, 1926), (32, 2, 3, 1, 1922), (64, 32, 3, 1, 1922)], algorithm: .direct)
        }
        let big = data.normals(8_388_608)
        var sink: Float = 0
        let stream = median(5) { sink += dotProduct(big, big, count: big.count) }
        print(String(format: "memory: dot over 32 MiB %.0f us (%.1f GB/s)%@", stream, 33.554 / stream * 1e3, sink.isNaN ? "!" : ""))
        print(String(format: "Mimi per frame: encoder convs %.0f us, decoder convs+convtr %.0f us, ELU x545k %.0f us, GELU x65k %.0f us",
                     encoder, decoder, elu, gelu))
    }

    @Test func lmStep() {
        var data = TestData(seed: 3)
        let x = data.normals(4096), alpha = data.floats(4096, 0.5, 1.5)
        var y = [Float](repeating: 0, count: 4096)
        let rms = median(101) { rmsNorm(x, alpha: alpha, eps: 1e-8, rows: 1, channels: 4096, into: &y) }
        var h = data.normals(2 * 11264)
        var gated = [Float](repeating: 0, count: 11264)
        let gate = median(101) { siluGate(h, rows: 1, hidden: 11264, into: &gated) }
        _ = h.withUnsafeMutableBufferPointer { $0.count }
        let rope = RotaryEmbedding(headDim: 128)
        var q = data.normals(4096), k = data.normals(4096)
        let ropeTime = median(101) { rope.apply(q: &q, queryHeads: 32, k: &k, keyHeads: 32, position: 2345) }
        var scores = data.normals(3000)
        let soft = median(101) { softmaxInPlace(&scores, count: 3000) }
        let text = data.normals(32000, scale: 3), audio = data.normals(2048, scale: 3)
        var values = [Float](repeating: 0, count: 250), indices = [Int32](repeating: 0, count: 250)
        var rng = Xoshiro256StarStar(seed: 4)
        let textSample = median(101) { _ = sampleToken(logits: text, count: 32000, temperature: 0.7, topK: 25, using: &rng, candidateValues: &values, candidateIndices: &indices) }
        let audioSample = median(101) { _ = sampleToken(logits: audio, count: 2048, temperature: 0.8, topK: 250, using: &rng, candidateValues: &values, candidateIndices: &indices) }
        let codebook = data.normals(2048 * 256), v = data.normals(256)
        var norms = [Float](repeating: 0, count: 2048), dist = [Float](repeating: 0, count: 2048), codes: [Int32] = [0]
        codebookSquaredNorms(codebook, entries: 2048, dimension: 256, into: &norms)
        let vq = median(101) { nearestCodebookEntries(v, count: 1, codebook: codebook, squaredNorms: norms, entries: 2048, dimension: 256, scratch: &dist, codes: &codes) }
        print(String(format: "LM: rmsNorm(4096) %.2f us, siluGate(11264) %.2f us, RoPE q+k 32x128 %.2f us, softmax(3000) %.2f us, "
                     + "sample text 32000/k25 %.1f us, audio 2048/k250 %.1f us; VQ 1x2048x256 %.1f us",
                     rms, gate, ropeTime, soft, textSample, audioSample, vq))
    }
}
