import MoshiNumerics

/// The points inside Mimi whose values the reference fixtures record, for localising a
/// mismatch (`MimiEncoder.intermediate(_:)`, `MimiDecoder.intermediate(_:)`).
package enum MimiStage: String, Sendable, CaseIterable {
    /// SEANet encoder output, `[2, dim]` per frame.
    case seanetEncoderOutput = "seanet_encoder_out"
    /// Encoder transformer output, `[2, dim]`.
    case encoderTransformerOutput = "encoder_transformer_out"
    /// Stride-2 conv output = the latent the quantizer sees, `[1, dim]`.
    case downsampleOutput = "downsample_out"
    /// The quantizer's reconstruction from the codes, `[1, dim]`.
    case quantizedLatent = "quantized_latent"
    /// Depthwise transposed-conv output, `[2, dim]`.
    case upsampleOutput = "upsample_out"
    /// Decoder transformer output = SEANet decoder input, `[2, dim]`.
    case decoderTransformerOutput = "decoder_transformer_out"
}

/// Preallocated copies of some stages' last outputs.
final class IntermediateRecorder {
    private let stages: [MimiStage]
    private let buffers: [FloatBuffer]
    private var counts: [Int]
    private let dimension: Int

    init(steps: Int, dimension: Int, stages: [MimiStage]) {
        self.stages = stages
        self.dimension = dimension
        buffers = stages.map { _ in FloatBuffer(count: steps * dimension) }
        counts = stages.map { _ in 0 }
    }

    func record(_ stage: MimiStage, _ values: UnsafePointer<Float>, steps: Int) {
        guard let index = stages.firstIndex(of: stage) else { return }
        buffers[index].pointer.update(from: values, count: steps * dimension)
        counts[index] = steps * dimension
    }

    func values(_ stage: MimiStage) -> [Float]? {
        guard let index = stages.firstIndex(of: stage) else { return nil }
        return Array(buffers[index].buffer.prefix(counts[index]))
    }
}
