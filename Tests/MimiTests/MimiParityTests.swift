import Foundation
import Mimi
import Testing
import Weights

/// A streaming run of our Mimi over a fixture: codes per frame, decoded audio, and every
/// intermediate stage concatenated over frames (time-major).
struct StreamingRun {
    var codes: [[Int32]] = []
    var decoded: [Float] = []
    var stages: [MimiStage: [Float]] = [:]

    /// Encodes the fixture's input frame by frame, and decodes the REFERENCE codes frame by frame
    /// (so a code mismatch does not hide the decoder's accuracy).
    init(_ fixture: MimiFixture, weights: MimiWeights) throws {
        let encoder = MimiEncoder(weights: weights, recordIntermediates: true)
        for frame in try fixture.inputFrames() {
            codes.append(encoder.step(frame))
            for stage in [MimiStage.seanetEncoderOutput, .encoderTransformerOutput, .downsampleOutput] {
                stages[stage, default: []] += encoder.intermediate(stage)!
            }
        }
        let decoder = MimiDecoder(weights: weights, recordIntermediates: true)
        for frame in try fixture.codeFrames().map({ Array($0.prefix(weights.config.codebooks)) }) {
            decoded += try decoder.step(frame)
            for stage in [MimiStage.quantizedLatent, .upsampleOutput, .decoderTransformerOutput] {
                stages[stage, default: []] += decoder.intermediate(stage)!
            }
        }
    }
}

@Suite("Mimi parity with moshi 0.2.13 (streaming)")
struct MimiParityTests {
    @Test("codes identical, decoded audio within 1e-4 relative L2", arguments: MimiFixture.committed)
    func parity(name: String) throws {
        let fixture = try MimiFixture(name)
        let run = try StreamingRun(fixture, weights: try fixture.weights())
        let reference = try fixture.codeFrames()
        #expect(run.codes.count == fixture.frames)
        var mismatches: [String] = []
        for (f, (ours, theirs)) in zip(run.codes, reference).enumerated() where ours != theirs {
            mismatches.append("frame \(f): \(ours) vs \(theirs)")
        }
        #expect(mismatches.isEmpty, "\(name): \(mismatches.count) frames differ: \(mismatches.prefix(4))")

        // Every stage, to localise a failure (the reference's own float64 re-derivation agrees to 6e-7).
        for stage in MimiStage.allCases {
            let error = relativeL2(run.stages[stage]!, try fixture.timeMajor(stage.rawValue))
            #expect(error < 1e-5, "\(name) \(stage.rawValue): relative L2 \(error)")
        }
        let decodedError = relativeL2(run.decoded, try fixture.floats("decoded"))
        #expect(decodedError < 1e-4, "\(name) decoded: relative L2 \(decodedError)")
        print("\(name): \(mismatches.count) code frames differ; decoded relative L2 \(decodedError)")
    }

    @Test("all 12 codebooks of the file: codes identical to the reference's, first 8 unchanged")
    func allCodebooks() throws {
        let fixture = try MimiFixture("seed1", codebooks: 12)
        let encoder = MimiEncoder(weights: try fixture.weights())
        #expect(encoder.codebooks == 12)
        let reference = try fixture.codeFrames("codes_all_codebooks")
        for (f, frame) in try fixture.inputFrames().enumerated() {
            let codes = encoder.step(frame)
            #expect(codes == reference[f], "frame \(f)")
        }
    }

    @Test("non-streaming codes are not the target: they differ once the ring wraps", arguments: ["seed0", "seed1"])
    func ringWrap(name: String) throws {
        // The fixture's own check, restated: our streaming codes equal `codes`, so they must
        // differ from `codes_nonstreaming` after the ring cache wraps (frame 6 / frame 4).
        let fixture = try MimiFixture(name)
        let encoder = MimiEncoder(weights: try fixture.weights())
        let ours = try fixture.inputFrames().map { encoder.step($0) }
        let nonStreaming = try fixture.codeFrames("codes_nonstreaming")
        let wrapFrame = fixture.config.transformerContext / 2
        #expect(ours.prefix(wrapFrame) == nonStreaming.prefix(wrapFrame))
        #expect(ours != nonStreaming)
    }
}
