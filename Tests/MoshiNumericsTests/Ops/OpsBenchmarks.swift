import Foundation
import Testing
@testable import MoshiNumerics

/// Timings of the primitives at the sizes the LM uses per 80 ms frame (Mimi's: `moshi bench mimi`). Off by default
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
