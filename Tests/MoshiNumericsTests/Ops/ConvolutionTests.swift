import Testing
@testable import MoshiNumerics

/// Plain float64 references written from the PyTorch definitions, and the comparison.
enum NaiveConvolution {
    /// `nn.Conv1d` without padding. x `[cin, T]`, w `[cout, cin/groups, K]` -> (`[cout, Tout]`, sum of |terms| per output).
    static func conv1d(_ x: [Float], cin: Int, length: Int, w: [Float], b: [Float]?, cout: Int, k: Int,
                       stride: Int, dilation: Int, groups: Int) -> (y: [Double], magnitude: [Double], tOut: Int) {
        let span = (k - 1) * dilation + 1
        let tOut = length < span ? 0 : (length - span) / stride + 1
        let inG = cin / groups, outG = cout / groups
        var y = [Double](repeating: 0, count: cout * tOut), m = y
        for co in 0..<cout {
            let g = co / outG
            for t in 0..<tOut {
                var acc = Double(b?[co] ?? 0), mag = abs(acc)
                for cl in 0..<inG {
                    for kk in 0..<k {
                        let term = Double(w[(co * inG + cl) * k + kk]) * Double(x[(g * inG + cl) * length + t * stride + kk * dilation])
                        acc += term
                        mag += abs(term)
                    }
                }
                y[co * tOut + t] = acc
                m[co * tOut + t] = mag
            }
        }
        return (y, m, tOut)
    }

    /// `nn.ConvTranspose1d` without padding. x `[cin, T]`, w `[cin, cout/groups, K]` -> `[cout, (T-1)*stride + K]`.
    static func convTranspose1d(_ x: [Float], cin: Int, length: Int, w: [Float], b: [Float]?, cout: Int, k: Int,
                                stride: Int, groups: Int) -> (y: [Double], magnitude: [Double], tOut: Int) {
        let tOut = (length - 1) * stride + k
        let inG = cin / groups, outG = cout / groups
        var y = [Double](repeating: 0, count: cout * tOut), m = y
        for co in 0..<cout {
            for t in 0..<tOut {
                y[co * tOut + t] = Double(b?[co] ?? 0)
                m[co * tOut + t] = abs(y[co * tOut + t])
            }
        }
        for ci in 0..<cin {
            let g = ci / inG
            for cl in 0..<outG {
                let co = g * outG + cl
                for t in 0..<length {
                    for kk in 0..<k {
                        let term = Double(w[(ci * outG + cl) * k + kk]) * Double(x[ci * length + t])
                        y[co * tOut + t * stride + kk] += term
                        m[co * tOut + t * stride + kk] += abs(term)
                    }
                }
            }
        }
        return (y, m, tOut)
    }

    /// Largest error relative to the magnitude of the summed terms (float32 summation bound).
    static func worst(_ got: [Float], _ want: [Double], _ magnitude: [Double]) -> Double {
        var worst = 0.0
        for i in got.indices {
            let e = abs(Double(got[i]) - want[i]) / (1e-6 * magnitude[i] + 1e-7)
            if !(e <= worst) { worst = e.isNaN ? .infinity : e }
        }
        return worst
    }
}

@Suite struct Conv1dTests {
    struct Case: CustomStringConvertible {
        var cin, cout, k, stride, dilation, groups, length: Int
        var bias: Bool
        var description: String { "cin \(cin) cout \(cout) k \(k) s \(stride) d \(dilation) g \(groups) T \(length) bias \(bias)" }
    }

    /// Runs `conv` over `x` with a padded input row stride and output row stride, returns the packed output.
    func run(_ conv: Conv1d, _ x: [Float], length: Int, padIn: Int, padOut: Int) -> [Float] {
        let ldi = length + padIn
        var padded = [Float](repeating: .nan, count: conv.inChannels * ldi)
        for c in 0..<conv.inChannels { for t in 0..<length { padded[c * ldi + t] = x[c * length + t] } }
        let tOut = conv.outputLength(inputLength: length)
        let ldo = tOut + padOut
        var out = [Float](repeating: -7, count: conv.outChannels * ldo)
        var scratch = [Float](repeating: .nan, count: conv.scratchCount(inputLength: length))
        padded.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { op in scratch.withUnsafeMutableBufferPointer { sp in
            conv.apply(input: xp.baseAddress!, inputLength: length, inputRowStride: ldi,
                       output: op.baseAddress!, outputRowStride: ldo, scratch: sp.baseAddress)
        } } }
        // The padding columns of the output are untouched.
        for c in 0..<conv.outChannels { for t in tOut..<ldo { #expect(out[c * ldo + t] == -7) } }
        return (0..<conv.outChannels).flatMap { c in out[(c * ldo)..<(c * ldo + tOut)] }
    }

    @Test func matchesTheNaiveReferenceOnRandomShapesWithBothAlgorithms() throws {
        var data = TestData(seed: 40)
        var cases: [Case] = []
        for _ in 0..<60 {
            let groupsKind = data.int(0...2)
            let base = data.int(1...6)
            let groups = groupsKind == 0 ? 1 : groupsKind == 1 ? 2 : data.int(2...9)
            let cin = groupsKind == 2 ? groups : base * groups
            let cout = groupsKind == 2 ? groups * data.int(1...2) : data.int(1...6) * groups
            let k = data.int(1...16), stride = data.int(1...8), dilation = data.int(1...3)
            let span = (k - 1) * dilation + 1
            cases.append(Case(cin: cin, cout: cout, k: k, stride: stride, dilation: dilation, groups: groups,
                              length: span + data.int(0...40), bias: data.int(0...1) == 1))
        }
        cases.append(Case(cin: 3, cout: 5, k: 1, stride: 1, dilation: 1, groups: 1, length: 17, bias: true))  // pointwise
        cases.append(Case(cin: 4, cout: 4, k: 1, stride: 1, dilation: 2, groups: 2, length: 9, bias: false))
        for c in cases {
            let x = data.normals(c.cin * c.length)
            let w = data.normals(c.cout * (c.cin / c.groups) * c.k, scale: 0.3)
            let b: [Float]? = c.bias ? data.normals(c.cout) : nil
            let want = NaiveConvolution.conv1d(x, cin: c.cin, length: c.length, w: w, b: b, cout: c.cout, k: c.k,
                                               stride: c.stride, dilation: c.dilation, groups: c.groups)
            for algorithm in [ConvolutionAlgorithm.gemm, .direct, .automatic] {
                let got = try w.withUnsafeBufferPointer { wp in
                    try withOptionalPointer(b) { bp in
                        let conv = try Conv1d(inChannels: c.cin, outChannels: c.cout, kernelSize: c.k, stride: c.stride,
                                              dilation: c.dilation, groups: c.groups, weight: wp.baseAddress!, bias: bp,
                                              algorithm: algorithm)
                        #expect(conv.outputLength(inputLength: c.length) == want.tOut)
                        return run(conv, x, length: c.length, padIn: data.int(0...3), padOut: data.int(0...2))
                    }
                }
                #expect(NaiveConvolution.worst(got, want.y, want.magnitude) <= 1, "\(c) \(algorithm)")
            }
        }
    }

    @Test func mimiSizedStridedConvolution() throws {
        // SEANet encoder's last downsampling conv: 512 -> 1024, K 16, stride 8, on 8 context + 16 new samples.
        var data = TestData(seed: 41)
        let cin = 512, cout = 1024, k = 16, length = 24
        let x = data.normals(cin * length), w = data.normals(cout * cin * k, scale: 0.02), b = data.normals(cout)
        let want = NaiveConvolution.conv1d(x, cin: cin, length: length, w: w, b: b, cout: cout, k: k, stride: 8, dilation: 1, groups: 1)
        let got = try w.withUnsafeBufferPointer { wp in try b.withUnsafeBufferPointer { bp in
            let conv = try Conv1d(inChannels: cin, outChannels: cout, kernelSize: k, stride: 8, weight: wp.baseAddress!, bias: bp.baseAddress!)
            #expect(conv.algorithm == .gemm)
            #expect(conv.scratchCount(inputLength: length) == cin * k * 2)
            return run(conv, x, length: length, padIn: 0, padOut: 0)
        } }
        #expect(want.tOut == 2)
        #expect(NaiveConvolution.worst(got, want.y, want.magnitude) <= 1)
    }

    @Test func shortInputGivesNoOutputAndBadGeometryThrows() throws {
        let w = [Float](repeating: 1, count: 2 * 2 * 3)
        try w.withUnsafeBufferPointer { wp in
            let conv = try Conv1d(inChannels: 2, outChannels: 2, kernelSize: 3, dilation: 2, weight: wp.baseAddress!, bias: nil)
            #expect(conv.receptiveField == 5)
            #expect(conv.outputLength(inputLength: 4) == 0)
            #expect(conv.outputLength(inputLength: 5) == 1)
            #expect(conv.scratchCount(inputLength: 4) == 0)
            var out: [Float] = [42]
            out.withUnsafeMutableBufferPointer { conv.apply(input: [1, 2, 3, 4, 5, 6, 7, 8], inputLength: 4, output: $0.baseAddress!, scratch: nil) }
            #expect(out == [42])
            #expect(throws: ConvolutionError.channelsNotDivisibleByGroups(channels: 3, groups: 2)) {
                _ = try Conv1d(inChannels: 3, outChannels: 2, kernelSize: 1, groups: 2, weight: wp.baseAddress!, bias: nil)
            }
            #expect(throws: ConvolutionError.nonPositive(name: "stride", value: 0)) {
                _ = try Conv1d(inChannels: 2, outChannels: 2, kernelSize: 1, stride: 0, weight: wp.baseAddress!, bias: nil)
            }
        }
        #expect(ConvolutionError.nonPositive(name: "stride", value: 0).description == "convolution stride must be positive, got 0")
    }
}

@Suite struct ConvTranspose1dTests {
    func run(_ conv: ConvTranspose1d, _ x: [Float], length: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: conv.outChannels * conv.outputLength(inputLength: length))
        var scratch = [Float](repeating: .nan, count: conv.scratchCount(inputLength: length))
        x.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { op in scratch.withUnsafeMutableBufferPointer { sp in
            conv.apply(input: xp.baseAddress!, inputLength: length, output: op.baseAddress!, scratch: sp.baseAddress)
        } } }
        return out
    }

    @Test func matchesTheNaiveReferenceOnRandomShapesWithBothAlgorithms() throws {
        var data = TestData(seed: 50)
        for trial in 0..<50 {
            let groupsKind = data.int(0...2)
            let groups = groupsKind == 0 ? 1 : groupsKind == 1 ? 2 : data.int(2...9)
            let cin = groupsKind == 2 ? groups : data.int(1...6) * groups
            let cout = groupsKind == 2 ? groups : data.int(1...6) * groups
            let k = data.int(1...16), stride = data.int(1...8), length = data.int(1...23)
            let x = data.normals(cin * length)
            let w = data.normals(cin * (cout / groups) * k, scale: 0.3)
            let b: [Float]? = data.int(0...1) == 1 ? data.normals(cout) : nil
            let want = NaiveConvolution.convTranspose1d(x, cin: cin, length: length, w: w, b: b, cout: cout, k: k,
                                                        stride: stride, groups: groups)
            for algorithm in [ConvolutionAlgorithm.gemm, .direct] {
                let got = try w.withUnsafeBufferPointer { wp in
                    try withOptionalPointer(b) { bp in
                        let conv = try ConvTranspose1d(inChannels: cin, outChannels: cout, kernelSize: k, stride: stride,
                                                       groups: groups, weight: wp.baseAddress!, bias: bp, algorithm: algorithm)
                        #expect(conv.outputLength(inputLength: length) == (length - 1) * stride + k)
                        return run(conv, x, length: length)
                    }
                }
                #expect(NaiveConvolution.worst(got, want.y, want.magnitude) <= 1,
                        "trial \(trial): cin \(cin) cout \(cout) k \(k) s \(stride) g \(groups) T \(length) \(algorithm)")
            }
        }
    }

    @Test func mimiUpsamplerIsDepthwiseAndDirect() throws {
        // 512 channels, groups 512, weight [512, 1, 4], stride 2, no bias; 1 new frame -> 4 outputs.
        var data = TestData(seed: 51)
        let w = data.normals(512 * 4), x = data.normals(512 * 3)
        let got = try w.withUnsafeBufferPointer { wp in
            let conv = try ConvTranspose1d(inChannels: 512, outChannels: 512, kernelSize: 4, stride: 2, groups: 512,
                                           weight: wp.baseAddress!, bias: nil)
            #expect(conv.algorithm == .direct)
            #expect(conv.scratchCount(inputLength: 3) == 0)
            return run(conv, x, length: 3)
        }
        #expect(got.count == 512 * 8)
        // Channel 7: y[2t + k] += w[7, k] x[7, t].
        let c = 7
        let want: [Float] = [
            w[c * 4] * x[c * 3], w[c * 4 + 1] * x[c * 3],
            w[c * 4 + 2] * x[c * 3] + w[c * 4] * x[c * 3 + 1], w[c * 4 + 3] * x[c * 3] + w[c * 4 + 1] * x[c * 3 + 1],
            w[c * 4 + 2] * x[c * 3 + 1] + w[c * 4] * x[c * 3 + 2], w[c * 4 + 3] * x[c * 3 + 1] + w[c * 4 + 1] * x[c * 3 + 2],
            w[c * 4 + 2] * x[c * 3 + 2], w[c * 4 + 3] * x[c * 3 + 2],
        ]
        for i in 0..<8 { #expect(abs(got[c * 8 + i] - want[i]) <= 1e-6 * (abs(want[i]) + 1)) }
    }

    @Test func biasReachesEveryOutputSample() throws {
        let w: [Float] = [0, 0, 0]  // [1, 1, 3]
        let b: [Float] = [0.25]
        let got = try w.withUnsafeBufferPointer { wp in try b.withUnsafeBufferPointer { bp in
            let conv = try ConvTranspose1d(inChannels: 1, outChannels: 1, kernelSize: 3, stride: 2, weight: wp.baseAddress!, bias: bp.baseAddress!)
            return run(conv, [1, 2], length: 2)
        } }
        #expect(got == [0.25, 0.25, 0.25, 0.25, 0.25])
    }
}

/// Calls `body` with a pointer to `array`'s storage, or nil.
func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    guard let array else { return try body(nil) }
    return try array.withUnsafeBufferPointer { try body($0.baseAddress!) }
}
