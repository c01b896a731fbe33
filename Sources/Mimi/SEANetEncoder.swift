import MoshiNumerics

/// SEANet's encoder, streaming: audio `[frameSize]` in, `[stepsPerFrame, dimension]` latent
/// steps out (time-major). conv k7 -> per ratio (4, 5, 6, 8): residual block, ELU, stride-r conv
/// doubling the width -> ELU -> conv k3 to the latent width. Each conv's output is written
/// straight into the next conv's input buffer; nothing is allocated after `init`.
final class SEANetEncoder {
    private let input: StreamingConv
    private let stages: [(block: ResidualBlock, downsample: StreamingConv)]
    let output: StreamingConv
    /// Input steps per stage (1920, 480, 96, 16 for the official codec), then the output's (2).
    let stageSteps: [Int]

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
        runToLastDownsample(samples)
        lastDownsample.run(steps: lastDownsampleSteps, into: output.newSteps)
        eluBeforeOutput()
        output.run(steps: outputSteps, into: latent)
    }

    /// `run` up to the last stage's downsampling conv, whose input is then ready (`MimiBatch`
    /// runs that conv and the output conv, whose weights are most of SEANet's, for all streams).
    func runToLastDownsample(_ samples: UnsafePointer<Float>) {
        input.newSteps.update(from: samples, count: stageSteps[0])
        input.run(steps: stageSteps[0], into: stages[0].downsample.newSteps)
        for (index, stage) in stages.enumerated() {
            let steps = stageSteps[index]
            let x = stage.downsample.newSteps
            stage.block.run(x, steps: steps)
            eluInPlace(x, count: steps * stage.downsample.weights.inChannels)
            if index + 1 < stages.count { stage.downsample.run(steps: steps, into: stages[index + 1].downsample.newSteps) }
        }
    }

    /// The last stage's downsampling conv (writes into `output.newSteps`) and its input steps.
    var lastDownsample: StreamingConv { stages[stages.count - 1].downsample }
    var lastDownsampleSteps: Int { stageSteps[stages.count - 1] }
    /// The output conv's input steps.
    var outputSteps: Int { stageSteps[stages.count] }

    /// The ELU before the output conv (on `output.newSteps`).
    func eluBeforeOutput() { eluInPlace(output.newSteps, count: outputSteps * output.weights.inChannels) }

    func reset() {
        input.reset()
        for stage in stages {
            stage.block.reset()
            stage.downsample.reset()
        }
        output.reset()
    }
}
