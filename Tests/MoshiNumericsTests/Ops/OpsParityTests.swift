import Foundation
import Testing
@testable import MoshiNumerics

/// Inputs and PyTorch / moshi==0.2.13 outputs from `Fixtures/make_ops_fixtures.py` (float32 values, exact).
struct OpsFixtures: Decodable {
    struct Norm: Decodable { let rows: Int, channels: Int, eps: Float, x: [Float], y: [Float]; let alpha, weight, bias: [Float]? }
    struct Activations: Decodable { let x, gelu, silu, elu: [Float] }
    struct Softmax: Decodable { let rows: Int, columns: Int, x: [Float], y: [Float] }
    struct Gating: Decodable { let rows: Int, hidden: Int, h: [Float], y: [Float] }
    struct Rope: Decodable {
        let offset: Int, steps: Int, heads: Int, head_dim: Int
        let q, k, q_out, k_out: [Float]
    }
    struct Codebook: Decodable { let entries: Int, dimension: Int, count: Int, codebook: [Float], x: [Float], codes: [Int32] }

    let rms_norm: Norm
    let layer_norm: Norm
    let activations: Activations
    let softmax: Softmax
    let silu_gating: Gating
    let rope: [Rope]
    let codebook: Codebook

    static let shared: OpsFixtures = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("ops_fixtures.json")
        return try! JSONDecoder().decode(OpsFixtures.self, from: Data(contentsOf: url))
    }()
}

/// The largest distance between `a[i]` and `b[i]` in units of float32 spacing at `b[i]` (floor `minScale`).
func ulps(_ a: [Float], _ b: [Float], minScale: Float = 1e-30) -> Float {
    precondition(a.count == b.count)
    var worst: Float = 0
    for i in a.indices {
        let d = abs(a[i] - b[i]) / max(b[i].ulp, minScale.ulp)
        if !(d <= worst) { worst = d.isNaN ? .infinity : d }
    }
    return worst
}

@Suite struct OpsParityTests {
    let f = OpsFixtures.shared

    @Test func rmsNormMatchesTheReference() {
        let c = f.rms_norm
        var y = [Float](repeating: .nan, count: c.x.count)
        rmsNorm(c.x, alpha: c.alpha!, eps: c.eps, rows: c.rows, channels: c.channels, into: &y)
        #expect(ulps(y, c.y) <= 2)
    }

    @Test func layerNormMatchesTorch() {
        let c = f.layer_norm
        var y = [Float](repeating: .nan, count: c.x.count)
        layerNorm(c.x, weight: c.weight!, bias: c.bias!, eps: c.eps, rows: c.rows, channels: c.channels, into: &y)
        // Outputs are O(1) (up to ~4); errors are measured in float32 spacing at 1 (near-zero
        // outputs come from cancellation). Observed: 4 (1 ulp of the largest outputs).
        #expect(ulps(y, c.y, minScale: 1) <= 6)
    }

    @Test func activationsMatchTorch() {
        let c = f.activations
        var y = [Float](repeating: .nan, count: c.x.count)
        gelu(c.x, count: c.x.count, into: &y)
        // PyTorch's AVX2 CPU kernel evaluates erf with the Abramowitz-Stegun 7.1.26 approximation
        // (|error| <= 1.5e-7); we use the C library's erff (~1 ulp), so the two differ by up to
        // 0.5 * |x| * 1.5e-7 absolute where 1 + erf cancels (x < 0).
        for i in y.indices {
            #expect(abs(y[i] - c.gelu[i]) <= 1e-7 * max(1, abs(c.x[i])) + 2 * c.gelu[i].ulp, "x = \(c.x[i])")
        }
        silu(c.x, count: c.x.count, into: &y)
        #expect(ulps(y, c.silu, minScale: 1e-6) <= 3)
        elu(c.x, count: c.x.count, into: &y)
        #expect(ulps(y, c.elu, minScale: 1e-6) <= 3)
    }

    @Test func softmaxMatchesTorch() {
        let c = f.softmax
        var y = c.x
        softmaxRowsInPlace(&y, rows: c.rows, columns: c.columns)
        #expect(ulps(y, c.y, minScale: 1e-12) <= 4)
    }

    @Test func gatingMatchesTheReferenceSplit() {
        let c = f.silu_gating
        var y = [Float](repeating: .nan, count: c.rows * c.hidden)
        siluGate(c.h, rows: c.rows, hidden: c.hidden, into: &y)
        #expect(ulps(y, c.y, minScale: 1e-6) <= 3)
    }

    @Test func ropeMatchesTheReferenceAtStreamOffsets() {
        for c in f.rope {
            let rope = RotaryEmbedding(headDim: c.head_dim, maxPeriod: 10_000)
            var q = c.q, k = c.k
            let width = c.heads * c.head_dim
            q.withUnsafeMutableBufferPointer { qp in k.withUnsafeMutableBufferPointer { kp in
                for t in 0..<c.steps {
                    rope.apply(q: qp.baseAddress! + t * width, queryHeads: c.heads, k: kp.baseAddress! + t * width,
                               keyHeads: c.heads, position: c.offset + t)
                }
            } }
            // Inputs are O(1) normals: errors in float32 spacing at 1.
            #expect(ulps(q, c.q_out, minScale: 1) <= 2, "offset \(c.offset)")
            #expect(ulps(k, c.k_out, minScale: 1) <= 2, "offset \(c.offset)")
        }
    }

    @Test func codebookSearchGivesTheReferenceCodes() {
        let c = f.codebook
        var norms = [Float](repeating: 0, count: c.entries)
        codebookSquaredNorms(c.codebook, entries: c.entries, dimension: c.dimension, into: &norms)
        var scratch = [Float](repeating: 0, count: c.count * c.entries)
        var codes = [Int32](repeating: -1, count: c.count)
        nearestCodebookEntries(c.x, count: c.count, codebook: c.codebook, squaredNorms: norms, entries: c.entries,
                               dimension: c.dimension, scratch: &scratch, codes: &codes)
        #expect(codes == c.codes)
        // One vector at a time gives the same codes (each vector's dot products are the same).
        for t in 0..<c.count {
            var one: [Int32] = [-1]
            nearestCodebookEntries(Array(c.x[(t * c.dimension)..<((t + 1) * c.dimension)]), count: 1, codebook: c.codebook,
                                   squaredNorms: norms, entries: c.entries, dimension: c.dimension, scratch: &scratch, codes: &one)
            #expect(one[0] == c.codes[t], "vector \(t)")
        }
    }
}
