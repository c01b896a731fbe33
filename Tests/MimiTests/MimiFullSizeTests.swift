import Foundation
import Mimi
import Testing

/// The full-size official configuration (random weights, 32 codebooks in the file, 8 used)
/// against the reference, from `make_mimi_fixtures.py --full DIR` (385 MB, not committed).
/// Runs only when `MOSHI_MIMI_FULL_DIR` names that directory.
@Suite("Mimi full-size parity (MOSHI_MIMI_FULL_DIR)")
struct MimiFullSizeTests {
    static let directory = ProcessInfo.processInfo.environment["MOSHI_MIMI_FULL_DIR"]

    @Test("official shapes: codes identical, decoded audio within 1e-4 relative L2",
          .enabled(if: directory != nil, "set MOSHI_MIMI_FULL_DIR to a make_mimi_fixtures.py --full directory"))
    func fullSize() throws {
        let fixture = try MimiFixture("full_seed0", directory: MimiFullSizeTests.directory!)
        #expect(fixture.config == MimiConfig.official)
        let run = try StreamingRun(fixture, weights: try fixture.weights())
        let reference = try fixture.codeFrames()
        var mismatchedCodes = 0
        for (ours, theirs) in zip(run.codes, reference) {
            mismatchedCodes += zip(ours, theirs).filter { $0 != $1 }.count
        }
        #expect(mismatchedCodes == 0)
        var report = "full size: \(fixture.frames) frames, \(mismatchedCodes) codes differ"
        for stage in MimiStage.allCases {
            let error = relativeL2(run.stages[stage]!, try fixture.timeMajor(stage.rawValue))
            report += ", \(stage.rawValue) \(error)"
            #expect(error < 1e-5, "\(stage.rawValue): relative L2 \(error)")
        }
        let decodedError = relativeL2(run.decoded, try fixture.floats("decoded"))
        #expect(decodedError < 1e-4)
        print(report + ", decoded \(decodedError)")
    }
}
