import Foundation
import Testing
import CKernels
@testable import MoshiNumerics

@Suite struct VectorExpTests {
    @Test func expMatchesDoubleWithinThreeUlp() {
        var worst = 0.0
        var x: Float = -87
        while x < 88 {
            let got = Double(vectorExp(FloatVector(repeating: x))[0])
            let want = exp(Double(x))
            worst = max(worst, abs(got - want) / want)
            x += 0.0137
        }
        #expect(worst < 3.6e-7, "worst relative error \(worst)")
        #expect(vectorExp(FloatVector(repeating: 0))[0] == 1)
        #expect(vectorExp(FloatVector(repeating: -.infinity))[0] == 0)
        #expect(vectorExp(FloatVector(repeating: -100))[0] == 0)
    }
}

@Suite struct ActivationTests {
    /// Runs `f` out of place and in place over `input`, checks both agree bit for bit, returns the result.
    func run(_ input: [Float], _ f: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var out = [Float](repeating: .nan, count: input.count)
        input.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { f(x.baseAddress!, input.count, $0.baseAddress!) } }
        var inPlace = input
        inPlace.withUnsafeMutableBufferPointer { f(UnsafePointer($0.baseAddress!), input.count, $0.baseAddress!) }
        #expect(inPlace == out)
        return out
    }

    @Test(arguments: KernelPath.available)
    func geluIsTheExactErfForm(path: KernelPath) {
        // 0.5 * x * (1 + erf(x / sqrt 2)) at +-1 and 0, to float precision.
        let y = run([1, -1, 0, 3]) { gelu($0, count: $1, into: $2, path: path) }
        #expect(abs(Double(y[0]) - 0.8413447460685429) < 1e-7)
        #expect(abs(Double(y[1]) - -0.15865525393145707) < 3e-8)
        #expect(y[2] == 0)
        #expect(abs(Double(y[3]) - 2.99595030590511) < 3e-7)
        // The tanh approximation differs from the exact form by ~1e-4 around |x| ~ 2: make sure we are not it.
        let tanhApproximation = 0.5 * 2 * (1 + tanh(sqrt(2 / Double.pi) * (2 + 0.044715 * 8)))
        let y2 = run([2]) { gelu($0, count: $1, into: $2, path: path) }
        #expect(abs(Double(y2[0]) - 1.9544997361036416) < 2e-7)
        #expect(abs(Double(y2[0]) - tanhApproximation) > 1e-5)
    }

    @Test(arguments: KernelPath.available)
    func geluMatchesDoubleOnRandomInputs(path: KernelPath) {
        var data = TestData(seed: 1)
        // Both sides of |x / sqrt 2| = 1 and 4 (where erf changes formula), the tails, and
        // 1001 + 9 values so the vector paths' tails run too.
        let x = data.floats(1001, -8, 8) + [1.414_213_5, -1.414_213_5, 1.4142137, 5.656_854, -5.656_854, 5.6568546, -30, 30, 1e-8]
        let y = run(x) { gelu($0, count: $1, into: $2, path: path) }
        let want = x.map { v in 0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot())) }
        #expect(worstError(y, want, abs: 1e-7, rel: 3e-7) <= 1)
        for n in 1...17 {
            let short = Array(x[200..<(200 + n)])
            let got = run(short) { gelu($0, count: $1, into: $2, path: path) }
            #expect(worstError(got, short.map { v in 0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot())) },
                               abs: 1e-7, rel: 3e-7) <= 1, "\(path) n \(n)")
        }
    }

    /// The attention's softmax weights (CKernels `mk_softmax_exp_f32`) on every path: e^(x - max)
    /// within 3.6e-7 relative, exactly 0 for masked (-inf) and far-below scores, every tail length.
    @Test(arguments: KernelPath.available)
    func softmaxWeightsAreExpOfTheShiftedScores(path: KernelPath) {
        var data = TestData(seed: 9)
        for n in Array(1...17) + [250, 1003] {
            var x = data.floats(n, -30, 5)
            if n > 2 { x[1] = -.infinity; x[n - 1] = -200 }
            let max = x.max()!
            var y = x
            mk_softmax_exp_f32(&y, Int64(n), max, path.rawValue)
            for i in 0..<n {
                let want = exp(Double(x[i] - max))  // the float difference, as any kernel takes it
                if x[i] - max < -87 {
                    #expect(y[i] == 0, "\(path) n \(n) i \(i)")
                } else {
                    #expect(abs(Double(y[i]) - want) <= 3.6e-7 * want, "\(path) n \(n) i \(i): \(y[i]) vs \(want)")
                }
            }
        }
    }

    /// GELU's erf (CKernels `mk_erf_f32`) on every path: within 1.5 ulp of erf on a fine grid
    /// over [-4.5, 4.5] (both formulas, the seams at |x| = 1 and 4), exact signs and limits.
    @Test(arguments: KernelPath.available)
    func erfIsWithinTwoUlp(path: KernelPath) {
        let grid = (-45_000...45_000).map { Float(Double($0) * 1e-4) } + [1e-30, -1e-30, 1e-8, 30, -30, .infinity, -.infinity]
        var y = [Float](repeating: .nan, count: grid.count)
        mk_erf_f32(grid, &y, Int64(grid.count), path.rawValue)
        var worst = 0.0, at: Float = 0
        for (x, got) in zip(grid, y) where x.isFinite {
            let want = erf(Double(x))
            let error = abs(Double(got) - want) / Double(Float(want).ulp)
            if error > worst { worst = error; at = x }
        }
        #expect(worst <= 1.5, "\(path): erf within \(worst) ulp (worst at \(at))")
        #expect(y[grid.count - 2] == 1 && y[grid.count - 1] == -1 && y[grid.count - 4] == 1)
        #expect(y[45_000] == 0)
    }

    @Test func siluMatchesDoubleIncludingTails() {
        var data = TestData(seed: 2)
        let x = data.floats(1003, -30, 30) + [0, -90, 90, 1e-6, -1e-6]
        let y = run(x) { silu($0, count: $1, into: $2) }
        let want = x.map { v in Double(v) / (1 + exp(-Double(v))) }
        #expect(worstError(y, want, abs: 1e-30, rel: 5e-7) <= 1)
        #expect(y[x.count - 5] == 0)
    }

    @Test(arguments: KernelPath.available)
    func eluIsIdentityAboveZeroAndExpm1Below(path: KernelPath) {
        var data = TestData(seed: 3)
        // 1005 + 4 values: the vector paths' tails (masked or zero-padded) are exercised too.
        let x = data.floats(1005, -12, 12) + [0, -1e-7, 1e-7, -100]
        let y = run(x) { elu($0, count: $1, into: $2, path: path) }
        for i in x.indices where x[i] > 0 { #expect(y[i] == x[i]) }
        let want = x.map { v in v > 0 ? Double(v) : expm1(Double(v)) }
        #expect(worstError(y, want, abs: 1e-30, rel: 4e-7) <= 1)
        #expect(y[x.count - 1] == -1)
        // Every short length, so each tail size of 8 and 16 lanes meets the reference.
        for n in 1...17 {
            let short = Array(x[100..<(100 + n)])
            let got = run(short) { elu($0, count: $1, into: $2, path: path) }
            #expect(worstError(got, short.map { v in v > 0 ? Double(v) : expm1(Double(v)) }, abs: 1e-30, rel: 4e-7) <= 1)
        }
    }

    @Test func siluGateActivatesTheFirstHalfAndMultipliesBySecond() {
        var data = TestData(seed: 4)
        let rows = 3, hidden = 37
        let h = data.floats(rows * 2 * hidden, -6, 6)
        var y = [Float](repeating: .nan, count: rows * hidden)
        h.withUnsafeBufferPointer { hp in y.withUnsafeMutableBufferPointer { siluGate(hp.baseAddress!, rows: rows, hidden: hidden, into: $0.baseAddress!) } }
        var want = [Double]()
        for r in 0..<rows {
            for j in 0..<hidden {
                let a = Double(h[r * 2 * hidden + j]), b = Double(h[r * 2 * hidden + hidden + j])
                want.append(a / (1 + exp(-a)) * b)
            }
        }
        #expect(worstError(y, want, abs: 1e-7, rel: 1e-6) <= 1)
        // In place: the first rows * hidden floats of the buffer become the result.
        var buffer = h
        buffer.withUnsafeMutableBufferPointer { siluGate(UnsafePointer($0.baseAddress!), rows: rows, hidden: hidden, into: $0.baseAddress!) }
        #expect(Array(buffer[0..<(rows * hidden)]) == y)
    }
}
