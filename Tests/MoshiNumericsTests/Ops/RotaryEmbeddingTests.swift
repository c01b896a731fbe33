import Foundation
import Testing
@testable import MoshiNumerics

@Suite struct RotaryEmbeddingTests {
    @Test func frequenciesAreMaxPeriodToTheMinusTwoIOverD() {
        let rope = RotaryEmbedding(headDim: 128, maxPeriod: 10_000)
        #expect(rope.frequencies.count == 64)
        #expect(rope.frequencies[0] == 1)
        for i in [1, 17, 63] {
            let want = pow(10_000.0, -2.0 * Double(i) / 128)
            #expect(abs(Double(rope.frequencies[i]) - want) / want < 1e-6, "pair \(i)")
        }
    }

    @Test func positionZeroIsTheIdentity() {
        var data = TestData(seed: 30)
        let rope = RotaryEmbedding(headDim: 64)
        let original = data.normals(8 * 64)
        var q = original, k = original
        q.withUnsafeMutableBufferPointer { qp in k.withUnsafeMutableBufferPointer { kp in
            rope.apply(q: qp.baseAddress!, queryHeads: 8, k: kp.baseAddress!, keyHeads: 8, position: 0)
        } }
        #expect(q == original)
        #expect(k == original)
    }

    /// A float64 rotation of interleaved pairs by the reference's float32 angle `Float(pos) * freq`.
    func reference(_ x: [Float], headDim: Int, position: Int, rope: RotaryEmbedding) -> [Double] {
        var out = x.map(Double.init)
        for h in 0..<(x.count / headDim) {
            for i in 0..<(headDim / 2) {
                let a = Double(Float(position) * rope.frequencies[i])
                let re = Double(x[h * headDim + 2 * i]), im = Double(x[h * headDim + 2 * i + 1])
                out[h * headDim + 2 * i] = re * cos(a) - im * sin(a)
                out[h * headDim + 2 * i + 1] = re * sin(a) + im * cos(a)
            }
        }
        return out
    }

    @Test func rotatesInterleavedPairsAndPreservesTheirNorms() {
        var data = TestData(seed: 31)
        let headDim = 128, heads = 4
        let rope = RotaryEmbedding(headDim: headDim)
        for position in [1, 2, 7, 250, 2999, 4321, 100_000] {
            let x = data.normals(heads * headDim)
            let kx = data.normals(2 * headDim)
            var q = x, k = kx
            q.withUnsafeMutableBufferPointer { qp in k.withUnsafeMutableBufferPointer { kp in
                rope.apply(q: qp.baseAddress!, queryHeads: heads, k: kp.baseAddress!, keyHeads: 2, position: position)
            } }
            #expect(worstError(q, reference(x, headDim: headDim, position: position, rope: rope), abs: 3e-7, rel: 3e-7) <= 1)
            #expect(worstError(k, reference(kx, headDim: headDim, position: position, rope: rope), abs: 3e-7, rel: 3e-7) <= 1)
            for p in stride(from: 0, to: q.count, by: 2) {
                let before = Double(x[p]) * Double(x[p]) + Double(x[p + 1]) * Double(x[p + 1])
                let after = Double(q[p]) * Double(q[p]) + Double(q[p + 1]) * Double(q[p + 1])
                #expect(abs(after - before) <= 1e-6 * before + 1e-12)
            }
        }
    }

    @Test func theAngleIsTheFloat32Product() {
        // At position 3000 the float32 product differs from the exact angle by up to ~1e-4 rad:
        // the reference (and we) rotate by the float32 one.
        let rope = RotaryEmbedding(headDim: 128)
        let pair = 5
        let exactAngle = 3000 * Double(rope.frequencies[pair])
        #expect(Double(rope.angle(pair: pair, position: 3000)) == Double(Float(3000) * rope.frequencies[pair]))
        #expect(Double(rope.angle(pair: pair, position: 3000)) != exactAngle)
        var x: [Float] = [Float](repeating: 0, count: 128)
        x[2 * pair] = 1
        x.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, heads: 1, position: 3000) }
        let a = Double(Float(3000) * rope.frequencies[pair])
        #expect(abs(Double(x[2 * pair]) - cos(a)) < 1e-7)
        #expect(abs(Double(x[2 * pair + 1]) - sin(a)) < 1e-7)
    }

    @Test func precomputedRotationMatchesApply() {
        var data = TestData(seed: 32)
        let rope = RotaryEmbedding(headDim: 64)
        let x = data.normals(3 * 64)
        var direct = x, viaTable = x
        direct.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, heads: 3, position: 1234) }
        var c = [Float](repeating: 0, count: 32), s = [Float](repeating: 0, count: 32)
        c.withUnsafeMutableBufferPointer { cp in s.withUnsafeMutableBufferPointer { sp in
            rope.rotation(position: 1234, cos: cp.baseAddress!, sin: sp.baseAddress!)
        } }
        viaTable.withUnsafeMutableBufferPointer { rope.rotate($0.baseAddress!, heads: 3, cos: c, sin: s) }
        #expect(direct == viaTable)
    }
}
