import MoshiNumerics

/// SEANet's encoder, streaming: audio `[frameSize]` in, `[stepsPerFrame, dimension]` latent
/// steps out (time-major). conv k7 -> per ratio (4, 5, 6, 8): residual block, ELU, stride-r conv
/// doubling the width -> ELU -> conv k3 to the latent width. Each conv's output is written
/// straight into the next conv's input buffer; nothing is allocated after `init`.
final class SEANetEncoder {
    private let input: StreamingConv
    private let stages: [(block: ResidualBlock, downsample: StreamingConv)]
    private let output: StreamingConv
    /// Input steps per stage (1920, 480, 96, 16 for the official codec), then the output's (2).
    private let stageSteps: [Int]

    init(_ weights: MimiWeights, pool: ThreadPool?) {
        let config = weights.config
        var steps = config.frameSize
        input = StreamingConv(weights.encoderInput, maxSteps: steps, pool: pool)
        var stages: [(block: ResidualBlock, downsample: StreamingConv)] = []
        var stageSteps: [Int] = []
        for stage in weights.encoderStages {
            stageSteps.append(steps)
            stages.append((ResidualBlock(stage.block, maxSteps: steps, pool: pool),
                           StreamingConv(stage.downsample, maxSteps: steps, pool: pool)))
            steps /= stage.downsample.stride
        }
        stageSteps.append(steps)
        self.stages = stages
        self.stageSteps = stageSteps
        output = StreamingConv(weights.encoderOutput, maxSteps: steps, pool: pool)
    }

    /// Encodes one frame of `samples` (`[frameSize]`, mono) into `latent` (`[stepsPerFrame, dimension]`).
    func run(_ samples: UnsafePointer<Float>, into latent: UnsafeMutablePointer<Float>) {
        input.newSteps.update(from: samples, count: stageSteps[0])
        input.run(steps: stageSteps[0], into: stages[0].downsample.newSteps)
        for (index, stage) in stages.enumerated() {
            let steps = stageSteps[index]
            let x = stage.downsample.newSteps
            stage.block.run(x, steps: steps)
            eluInPlace(x, count: steps * stage.downsample.weights.inChannels)
            let next = index + 1 < stages.count ? stages[index + 1].downsample.newSteps : output.newSteps
            stage.downsample.run(steps: steps, into: next)
        }
        let steps = stageSteps[stages.count]
        eluInPlace(output.newSteps, count: steps * output.weights.inChannels)
        output.run(steps: steps, into: latent)
    }

    func reset() {
        input.reset()
        for stage in stages {
            stage.block.reset()
            stage.downsample.reset()
        }
        output.reset()
    }
}
