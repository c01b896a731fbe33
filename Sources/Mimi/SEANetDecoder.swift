import MoshiNumerics

/// SEANet's decoder, streaming: `[stepsPerFrame, dimension]` latent steps in, `[frameSize]`
/// audio out. conv k7 to 16 x filters -> per ratio (8, 6, 5, 4): ELU, stride-r transposed conv
/// halving the width, residual block -> ELU -> conv k3 to one channel. Each layer writes into
/// the next one's input; nothing is allocated after `init`.
final class SEANetDecoder {
    private let input: StreamingConv
    /// `[stepsPerFrame, 16 * filters]`: the first conv's output.
    private let inputOutput: FloatBuffer
    private let stages: [(upsample: StreamingConvTranspose, block: ResidualBlock)]
    /// Each stage's output, `[steps * ratio, width]` (2x512 -> 16x512, 96x256, 480x128); the last
    /// stage writes into `output`'s input instead.
    private let stageOutputs: [FloatBuffer]
    /// Input steps per stage (2, 16, 96, 480), then the output conv's (1920).
    private let stageSteps: [Int]
    private let output: StreamingConv

    init(_ weights: MimiWeights, pool: ThreadPool?) {
        let config = weights.config
        var steps = config.stepsPerFrame
        input = StreamingConv(weights.decoderInput, maxSteps: steps, pool: pool)
        inputOutput = FloatBuffer(count: steps * weights.decoderInput.outChannels)
        var stages: [(upsample: StreamingConvTranspose, block: ResidualBlock)] = []
        var stageOutputs: [FloatBuffer] = []
        var stageSteps: [Int] = []
        for (index, stage) in weights.decoderStages.enumerated() {
            stageSteps.append(steps)
            steps *= stage.upsample.stride
            stages.append((StreamingConvTranspose(stage.upsample, maxSteps: steps / stage.upsample.stride, pool: pool),
                           ResidualBlock(stage.block, maxSteps: steps, pool: pool)))
            if index + 1 < weights.decoderStages.count {
                stageOutputs.append(FloatBuffer(count: steps * stage.upsample.outChannels))
            }
        }
        stageSteps.append(steps)
        self.stages = stages
        self.stageOutputs = stageOutputs
        self.stageSteps = stageSteps
        output = StreamingConv(weights.decoderOutput, maxSteps: steps, pool: pool)
    }

    /// Where the caller writes the latent steps (`[stepsPerFrame, dimension]`) before `run`.
    var latent: UnsafeMutablePointer<Float> { input.newSteps }

    /// Decodes the latent steps in `latent` into `samples` (`[frameSize]`).
    func run(into samples: UnsafeMutablePointer<Float>) {
        let first = stageSteps[0]
        input.run(steps: first, into: inputOutput.pointer)
        var x = inputOutput.pointer
        var width = input.weights.outChannels
        for (index, stage) in stages.enumerated() {
            let steps = stageSteps[index]
            eluInPlace(x, count: steps * width)
            let y = index < stageOutputs.count ? stageOutputs[index].pointer : output.newSteps
            stage.upsample.run(x, steps: steps, into: y)
            let outSteps = stageSteps[index + 1]
            stage.block.run(y, steps: outSteps)
            x = y
            width = stage.upsample.weights.outChannels
        }
        let steps = stageSteps[stages.count]
        eluInPlace(output.newSteps, count: steps * width)
        output.run(steps: steps, into: samples)
    }

    func reset() {
        input.reset()
        for stage in stages {
            stage.upsample.reset()
            stage.block.reset()
        }
        output.reset()
    }
}
