import Foundation
import MoshiNumerics
import Weights
@testable import MoshiLM

/// One committed reference run (`Tests/Fixtures/make_lm_fixtures.py`, moshi 0.2.13): a config,
/// weights in one layout, and the io file with the reference's inputs and outputs.
struct LMFixture {
    let config: LMConfig
    let store: any WeightStore
    let io: SafetensorsFile
    /// Prefix of this layout's expectations in the io file ("" for the f32 / lossless runs).
    let expectations: String
    let steps: Int

    static var directory: String { Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path }

    init(seed: Int, weights file: String, expectations: String = "") throws {
        let dir = LMFixture.directory
        config = try LMConfig(contentsOf: "\(dir)/lm_seed\(seed)_config.json")
        store = try WeightFiles.open(path: "\(dir)/\(file)")
        io = try SafetensorsFile(path: "\(dir)/lm_seed\(seed)_io.safetensors")
        self.expectations = expectations
        steps = try io.require("user_codes").shape[0]
    }

    func model(threads: Int = 1, precision: MatvecPrecision = .exact) throws -> LMModel {
        try LMModel(weights: LMWeights(store: store, config: config), threads: threads, precision: precision)
    }

    func ints(_ name: String) throws -> [Int32] { try io.require(name).integers().map { Int32($0) } }
    func floats(_ name: String) throws -> [Float] { try io.require(name).floats() }
    func expected(_ name: String) -> String { expectations.isEmpty ? name : "\(expectations).\(name)" }
}

/// `|got - want|_2 / |want|_2`.
func relativeL2(_ got: UnsafePointer<Float>, _ want: ArraySlice<Float>) -> Double {
    var num = 0.0, den = 0.0
    for (i, w) in want.enumerated() {
        let d = Double(got[i]) - Double(w)
        num += d * d
        den += Double(w) * Double(w)
    }
    return (num / max(den, 1e-30)).squareRoot()
}
