import CBLAS

/// Why a convolution's geometry was rejected (raised when a layer is built, usually from the
/// shape of a weight tensor in a checkpoint, so a bad file gets a message instead of a crash).
public enum ConvolutionError: Error, Equatable, CustomStringConvertible {
    /// A size that must be positive was not (`name` says which).
    case nonPositive(name: String, value: Int)
    /// A channel count not divisible by the number of groups.
    case channelsNotDivisibleByGroups(channels: Int, groups: Int)

    public var description: String {
        switch self {
        case .nonPositive(let name, let value):
            "convolution \(name) must be positive, got \(value)"
        case .channelsNotDivisibleByGroups(let channels, let groups):
            "convolution channel count \(channels) is not divisible by groups \(groups)"
        }
    }
}

/// How a convolution is computed. `automatic` picks GEMM for dense and wide-group convolutions
/// and the direct loop for depthwise-like ones (and, for `Conv1d`, at most 4 outputs per group);
/// tests force each path to check both.
public enum ConvolutionAlgorithm: Sendable, Hashable {
    case automatic
    /// im2col / col2im around OpenBLAS `cblas_sgemm`, one product per group.
    case gemm
    /// A plain multiply-accumulate loop over output rows; needs no scratch.
    case direct
}

/// Checks the shared geometry of `Conv1d` and `ConvTranspose1d`.
func validateConvolution(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int,
                         dilation: Int, groups: Int) throws(ConvolutionError) {
    for (name, value) in [("inChannels", inChannels), ("outChannels", outChannels), ("kernelSize", kernelSize),
                          ("stride", stride), ("dilation", dilation), ("groups", groups)] where value <= 0 {
        throw .nonPositive(name: name, value: value)
    }
    if inChannels % groups != 0 { throw .channelsNotDivisibleByGroups(channels: inChannels, groups: groups) }
    if outChannels % groups != 0 { throw .channelsNotDivisibleByGroups(channels: outChannels, groups: groups) }
}

/// `Int` to OpenBLAS's `blasint`.
@inline(__always)
func blas(_ n: Int) -> blasint { blasint(n) }
