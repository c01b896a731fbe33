import CBLAS

/// A 1-D transposed convolution with PyTorch's `nn.ConvTranspose1d` semantics (no padding, no
/// output padding, dilation 1), producing the FULL output of length `(T - 1) * stride + kernelSize`;
/// Mimi's streaming layer overlap-adds and trims it.
///
///     out[co, t*stride + k] += w[ci, co - g*outPerGroup, k] * x[ci, t]     for ci in group g of co
///     out[co, :] starts at bias[co] (every output sample gets the bias, as in PyTorch)
///
/// Layouts: input `[inChannels, T]` channel-major (rows `inputRowStride` apart), output
/// `[outChannels, Tout]` (rows `outputRowStride` apart), weight `[inChannels, outChannels / groups,
/// kernelSize]` (PyTorch's), bias `[outChannels]`. The Mimi upsampler is depthwise
/// (groups 512, weight `[512, 1, 4]`), the SEANet decoder's are dense.
///
/// The dense path computes, per group, `cols = x_g^T W_g` (`[T, outPerGroup * kernelSize]`, one
/// `cblas_sgemm` on the weight as stored) into `scratch`, then adds each frame's kernel-long
/// segments into the output at `t * stride` (col2im). The direct path needs no scratch. `apply` allocates nothing: query
/// `scratchCount(inputLength:)` and preallocate.
public struct ConvTranspose1d: @unchecked Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let groups: Int
    /// `[inChannels, outChannels / groups, kernelSize]`; must outlive this value.
    public let weight: UnsafePointer<Float>
    /// `[outChannels]` or nil.
    public let bias: UnsafePointer<Float>?
    /// The path `apply` takes (never `.automatic`).
    public let algorithm: ConvolutionAlgorithm

    public var inPerGroup: Int { inChannels / groups }
    public var outPerGroup: Int { outChannels / groups }

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, groups: Int = 1,
                weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                algorithm: ConvolutionAlgorithm = .automatic) throws(ConvolutionError) {
        try validateConvolution(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
                                stride: stride, dilation: 1, groups: groups)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.groups = groups
        self.weight = weight
        self.bias = bias
        if algorithm == .automatic {
            let perGroup = (inChannels / groups) * (outChannels / groups)
            self.algorithm = groups == 1 || perGroup > 16 ? .gemm : .direct
        } else {
            self.algorithm = algorithm
        }
    }

    /// `(inputLength - 1) * stride + kernelSize`, or 0 for no input.
    public func outputLength(inputLength: Int) -> Int {
        inputLength <= 0 ? 0 : (inputLength - 1) * stride + kernelSize
    }

    /// Floats of scratch `apply` needs for `inputLength` input samples (0 for the direct path).
    public func scratchCount(inputLength: Int) -> Int {
        algorithm == .gemm ? outPerGroup * kernelSize * max(inputLength, 0) : 0
    }

    /// Transposed-convolves `inputLength` samples of every input channel.
    ///
    /// - Parameters:
    ///   - input: `[inChannels, inputLength]`, rows `inputRowStride` apart (default `inputLength`).
    ///   - output: `[outChannels, outputLength(inputLength:)]`, rows `outputRowStride` apart
    ///     (default the output length), overwritten; must not overlap `input` or `scratch`.
    ///   - scratch: at least `scratchCount(inputLength:)` floats (may be nil when that is 0).
    public func apply(input: UnsafePointer<Float>, inputLength: Int, inputRowStride: Int? = nil,
                      output: UnsafeMutablePointer<Float>, outputRowStride: Int? = nil,
                      scratch: UnsafeMutablePointer<Float>?) {
        let tOut = outputLength(inputLength: inputLength)
        guard tOut > 0 else { return }
        let ldi = inputRowStride ?? inputLength
        let ldo = outputRowStride ?? tOut
        precondition(ldi >= inputLength && ldo >= tOut, "ConvTranspose1d row strides shorter than the rows")
        for co in 0..<outChannels {
            (output + co * ldo).update(repeating: bias?[co] ?? 0, count: tOut)
        }
        switch algorithm {
        case .gemm, .automatic:
            guard let cols = scratch else {
                preconditionFailure("ConvTranspose1d needs \(scratchCount(inputLength: inputLength)) floats of scratch")
            }
            let rows = outPerGroup * kernelSize
            for g in 0..<groups {
                // cols[t, (co, k)] = sum_ci x[ci, t] * w[ci, co, k]: x_g^T (transposed in place) times
                // the weight block [inPerGroup, rows] as stored. (This orientation is ~1.5x faster in
                // OpenBLAS than W_g^T x_g for the few-frame, bandwidth-bound streaming case, and no
                // slower for long inputs.)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                            blas(inputLength), blas(rows), blas(inPerGroup),
                            1, input + g * inPerGroup * ldi, blas(ldi), weight + g * inPerGroup * rows, blas(rows),
                            0, cols, blas(rows))
                // col2im: frame t's kernel-long segment of channel co lands at t * stride.
                for cl in 0..<outPerGroup {
                    let yr = output + (g * outPerGroup + cl) * ldo
                    for t in 0..<inputLength {
                        let src = cols + t * rows + cl * kernelSize
                        let dst = yr + t * stride
                        for k in 0..<kernelSize { dst[k] += src[k] }
                    }
                }
            }
        case .direct:
            for ci in 0..<inChannels {
                let g = ci / inPerGroup
                let xr = input + ci * ldi
                for cl in 0..<outPerGroup {
                    let yr = output + (g * outPerGroup + cl) * ldo
                    let w = weight + (ci * outPerGroup + cl) * kernelSize
                    for k in 0..<kernelSize {
                        let wk = w[k]
                        let dst = yr + k
                        for t in 0..<inputLength { dst[t * stride] += wk * xr[t] }
                    }
                }
            }
        }
    }
}
