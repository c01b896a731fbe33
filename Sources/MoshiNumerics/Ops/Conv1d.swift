import CBLAS

/// A 1-D convolution with PyTorch's `nn.Conv1d` semantics and no padding ("valid"): the
/// streaming layers of Mimi supply their left context themselves.
///
///     out[co, t] = bias[co] + sum_{ci in group(co), k} w[co, ci - g*inPerGroup, k] * x[ci, t*stride + k*dilation]
///     Tout = (T - (kernelSize - 1)*dilation - 1) / stride + 1     (0 when T is shorter than the receptive field)
///
/// Layouts: input `[inChannels, T]` channel-major (row `ci` starts at `ci * inputRowStride`),
/// output `[outChannels, Tout]` (row `co` at `co * outputRowStride`), weight
/// `[outChannels, inChannels / groups, kernelSize]` (PyTorch's), bias `[outChannels]`.
///
/// The dense path packs the receptive fields of one group into `scratch` (im2col,
/// `[inPerGroup * kernelSize, Tout]`) and multiplies by the weight, which is already the
/// `[outPerGroup, inPerGroup * kernelSize]` row-major matrix, with one `cblas_sgemm` per group.
/// A 1x1 stride-1 convolution multiplies the input directly (no scratch). The direct path
/// (depthwise-like convolutions and those with at most 4 outputs per group) accumulates rows
/// in place and needs no scratch.
/// `apply` allocates nothing: query `scratchCount(inputLength:)` and preallocate.
public struct Conv1d: @unchecked Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let dilation: Int
    public let groups: Int
    /// `[outChannels, inChannels / groups, kernelSize]`; must outlive this value.
    public let weight: UnsafePointer<Float>
    /// `[outChannels]` or nil.
    public let bias: UnsafePointer<Float>?
    /// The path `apply` takes (never `.automatic`).
    public let algorithm: ConvolutionAlgorithm

    public var inPerGroup: Int { inChannels / groups }
    public var outPerGroup: Int { outChannels / groups }
    /// Input samples one output sample sees: `(kernelSize - 1) * dilation + 1`.
    public var receptiveField: Int { (kernelSize - 1) * dilation + 1 }

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, dilation: Int = 1,
                groups: Int = 1, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                algorithm: ConvolutionAlgorithm = .automatic) throws(ConvolutionError) {
        try validateConvolution(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
                                stride: stride, dilation: dilation, groups: groups)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.dilation = dilation
        self.groups = groups
        self.weight = weight
        self.bias = bias
        if algorithm == .automatic {
            // The direct loop wins for very few output rows per group (e.g. SEANet's final 64 -> 1
            // conv: 40 us vs 154 us for sgemm on 1920 samples) and for depthwise-like groups.
            let perGroup = (inChannels / groups) * (outChannels / groups)
            self.algorithm = outChannels / groups <= 4 || perGroup <= 16 ? .direct : .gemm
        } else {
            self.algorithm = algorithm
        }
    }

    /// Output samples for `inputLength` input samples.
    public func outputLength(inputLength: Int) -> Int {
        inputLength < receptiveField ? 0 : (inputLength - receptiveField) / stride + 1
    }

    /// Floats of scratch `apply` needs for `inputLength` input samples (0 for the direct path and
    /// for 1x1 stride-1 convolutions).
    public func scratchCount(inputLength: Int) -> Int {
        guard algorithm == .gemm, !isPointwise else { return 0 }
        return inPerGroup * kernelSize * outputLength(inputLength: inputLength)
    }

    private var isPointwise: Bool { kernelSize == 1 && stride == 1 }

    /// Convolves `inputLength` samples of every input channel.
    ///
    /// - Parameters:
    ///   - input: `[inChannels, inputLength]`, rows `inputRowStride` apart (default `inputLength`).
    ///   - output: `[outChannels, outputLength(inputLength:)]`, rows `outputRowStride` apart
    ///     (default the output length); must not overlap `input` or `scratch`.
    ///   - scratch: at least `scratchCount(inputLength:)` floats (may be nil when that is 0).
    public func apply(input: UnsafePointer<Float>, inputLength: Int, inputRowStride: Int? = nil,
                      output: UnsafeMutablePointer<Float>, outputRowStride: Int? = nil,
                      scratch: UnsafeMutablePointer<Float>?) {
        let tOut = outputLength(inputLength: inputLength)
        guard tOut > 0 else { return }
        let ldi = inputRowStride ?? inputLength
        let ldo = outputRowStride ?? tOut
        precondition(ldi >= inputLength && ldo >= tOut, "Conv1d row strides shorter than the rows")
        switch algorithm {
        case .gemm, .automatic:
            applyGEMM(input, ldi: ldi, output, ldo: ldo, tOut: tOut, scratch: scratch)
        case .direct:
            applyDirect(input, ldi: ldi, output, ldo: ldo, tOut: tOut)
        }
    }

    private func applyGEMM(_ x: UnsafePointer<Float>, ldi: Int, _ y: UnsafeMutablePointer<Float>, ldo: Int,
                           tOut: Int, scratch: UnsafeMutablePointer<Float>?) {
        let inner = inPerGroup * kernelSize
        if bias != nil { fillBias(y, ldo: ldo, length: tOut) }
        let beta: Float = bias == nil ? 0 : 1
        for g in 0..<groups {
            let xg = x + g * inPerGroup * ldi
            let b: UnsafePointer<Float>
            let ldb: Int
            if isPointwise {
                b = xg
                ldb = ldi
            } else {
                guard let col = scratch else { preconditionFailure("Conv1d needs \(inner * tOut) floats of scratch") }
                for ci in 0..<inPerGroup {
                    for k in 0..<kernelSize {
                        let src = xg + ci * ldi + k * dilation
                        let dst = col + (ci * kernelSize + k) * tOut
                        if stride == 1 {
                            dst.update(from: src, count: tOut)
                        } else {
                            for t in 0..<tOut { dst[t] = src[t * stride] }
                        }
                    }
                }
                b = UnsafePointer(col)
                ldb = tOut
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                        blas(outPerGroup), blas(tOut), blas(inner),
                        1, weight + g * outPerGroup * inner, blas(inner),
                        b, blas(ldb),
                        beta, y + g * outPerGroup * ldo, blas(ldo))
        }
    }

    private func applyDirect(_ x: UnsafePointer<Float>, ldi: Int, _ y: UnsafeMutablePointer<Float>, ldo: Int, tOut: Int) {
        fillBias(y, ldo: ldo, length: tOut)
        for co in 0..<outChannels {
            let g = co / outPerGroup
            let yr = y + co * ldo
            for cl in 0..<inPerGroup {
                let xr = x + (g * inPerGroup + cl) * ldi
                let w = weight + (co * inPerGroup + cl) * kernelSize
                for k in 0..<kernelSize {
                    let wk = w[k]
                    let src = xr + k * dilation
                    if stride == 1 {
                        for t in 0..<tOut { yr[t] += wk * src[t] }
                    } else {
                        for t in 0..<tOut { yr[t] += wk * src[t * stride] }
                    }
                }
            }
        }
    }

    /// Sets each output row to its bias (or 0 without bias, for the direct path).
    private func fillBias(_ y: UnsafeMutablePointer<Float>, ldo: Int, length: Int) {
        for co in 0..<outChannels {
            (y + co * ldo).update(repeating: bias?[co] ?? 0, count: length)
        }
    }
}
