import MoshiNumerics

/// SEANet's decoder, streaming: `[stepsPerFrame, dimension]` latent steps in, `[frameSize]`
/// audio out. conv k7 to 16 x filters -> per ratio (8, 6, 5, 4): ELU, stride-r transposed conv
/// halving the width, residual block -> ELU -> conv k3 to one channel. Each layer writes into
/// the next one's input; nothing is allocated after `init`.
final class SEANetDecoder {
    let input: StreamingConv
    /// `[stepsPerFrame, 16 * filters]`: the first conv's output.
    let inputOutput: FloatBuffer
    let stages: [(upsample: StreamingConvTranspose, block: ResidualBlock)]
    /// Each stage's output, `[steps * ratio, width]` (2x512 -> 16x512, 96x256, 480x128); the last
    /// stage writes into `output`'s input instead.
    private let stageOutputs: [FloatBuffer]
    /// Input steps per stage (2, 16, 96, 480), then the output conv's (1920).
    let stageSteps: [Int]
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
        input.run(steps: stageSteps[0], into: inputOutput.pointer)
        eluAfterInput()
        stages[0].upsample.run(inputOutput.pointer, steps: stageSteps[0], into: stageOutput(0))
        runFromFirstBlock(into: samples)
    }

    /// The ELU after the input conv (on `inputOutput`).
    func eluAfterInput() { eluInPlace(inputOutput.pointer, count: stageSteps[0] * input.weights.outChannels) }

    /// Where stage `index`'s upsampling conv writes.
    func stageOutput(_ index: Int) -> UnsafeMutablePointer<Float> {
        index < stageOutputs.count ? stageOutputs[index].pointer : output.newSteps
    }

    /// `run` from the first stage's residual block on, once the input conv and the first
    /// upsampling conv have run (`MimiBatch` runs those two, whose weights are most of SEANet's,
    /// for all streams).
    func runFromFirstBlock(into samples: UnsafeMutablePointer<Float>) {
        var x = stageOutput(0)
        var width = stages[0].upsample.weights.outChannels
        stages[0].block.run(x, steps: stageSteps[1])
        for index in stages.indices.dropFirst() {
            let stage = stages[index]
            let steps = stageSteps[index]
            eluInPlace(x, count: steps * width)
            let y = stageOutput(index)
            stage.upsample.run(x, steps: steps, into: y)
            stage.block.run(y, steps: stageSteps[index + 1])
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
