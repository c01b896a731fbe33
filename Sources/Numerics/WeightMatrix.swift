/// How the elements of a weight matrix are stored. Activations are always f32.
public enum WeightFormat: Sendable, Hashable, CustomStringConvertible {
    case f32
    case bf16
    case f16
    /// GGUF Q8_0: blocks of 32 int8 values, each block led by an f16 scale (34 bytes a block).
    case q8_0
    /// GGUF Q4_0: blocks of 32 4-bit values, an f16 scale then 16 bytes (18 bytes a block);
    /// element j < 16 is the low nibble of byte j, element j >= 16 the high nibble of byte j - 16;
    /// value = (nibble - 8) * scale.
    case q4_0
    /// MLX affine quantization (`mx.quantize`): `bits` (4 or 8) packed little-end-first into
    /// u32 words along each row; every `groupSize` (32 or 64) elements of a row share a scale
    /// and a bias, stored in `scaleType`; value = scale * q + bias.
    case mlxAffine(bits: Int, groupSize: Int, scaleType: ScaleType)

    /// The storage type of MLX scales and biases (the dtype of the model they were made from).
    public enum ScaleType: Sendable, Hashable { case f32, f16, bf16 }

    public var description: String {
        switch self {
        case .f32: "f32"
        case .bf16: "bf16"
        case .f16: "f16"
        case .q8_0: "q8_0"
        case .q4_0: "q4_0"
        case .mlxAffine(let bits, let group, _): "mlx_q\(bits)_g\(group)"
        }
    }
}

/// A read-only row-major matrix of weights in any `WeightFormat`, viewing memory owned
/// elsewhere (usually a memory-mapped weight file, which must outlive the view).
/// Shape: `[rows, cols]`; a matrix-vector product maps `cols` inputs to `rows` outputs,
/// as PyTorch's `Linear.weight` of shape `[out_features, in_features]` does.
public struct WeightMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let format: WeightFormat
    /// The element data; for MLX, the packed u32 words (`[rows, cols * bits / 32]`).
    public let data: UnsafeRawPointer
    /// MLX only: `[rows, cols / groupSize]` scales and biases in `scaleType`.
    public let scales: UnsafeRawPointer?
    public let biases: UnsafeRawPointer?

    public init(rows: Int, cols: Int, format: WeightFormat, data: UnsafeRawPointer,
                scales: UnsafeRawPointer? = nil, biases: UnsafeRawPointer? = nil) {
        self.rows = rows
        self.cols = cols
        self.format = format
        self.data = data
        self.scales = scales
        self.biases = biases
    }
}
