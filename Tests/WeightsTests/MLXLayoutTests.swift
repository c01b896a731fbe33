import Testing
import MoshiNumerics
@testable import Weights

@Suite struct MLXLayoutTests {
    /// Row `r` of an MLX matrix, dequantized the way MLX does it: in the scale type, rounding
    /// after the multiply and after the add (value = scale * q + bias).
    static func dequantizedRow(_ m: WeightMatrix, _ r: Int) throws -> [Float] {
        guard case .mlxAffine(let bits, let group, let scaleType) = m.format else { throw Unexpected() }
        let scales = try #require(m.scales), biases = try #require(m.biases)
        let wordsPerRow = m.cols * bits / 32, groups = m.cols / group
        func load(_ p: UnsafeRawPointer, _ i: Int) -> Float {
            switch scaleType {
            case .f32: p.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
            case .f16: HalfPrecision.float(fromF16: p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
            case .bf16: HalfPrecision.float(fromBF16: p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
            }
        }
        func round(_ x: Float) -> Float {
            switch scaleType {
            case .f32: x
            case .f16: Float(Float16(x))
            case .bf16: HalfPrecision.float(fromBF16: HalfPrecision.bf16Bits(x))
            }
        }
        return (0..<m.cols).map { c in
            let word = m.data.loadUnaligned(fromByteOffset: (r * wordsPerRow + c * bits / 32) * 4, as: UInt32.self)
            let q = Float((word >> UInt32(c * bits % 32)) & UInt32((1 << bits) - 1))
            let g = r * groups + c / group
            return round(round(load(scales, g) * q) + load(biases, g))
        }
    }

    struct Unexpected: Error {}

    @Test(arguments: [("mlx_q4_g32.safetensors", 4, 32, WeightFormat.ScaleType.bf16),
                      ("mlx_q8_g64.safetensors", 8, 64, .f16)])
    func fixtureWrittenByMLXDequantizesExactly(name: String, bits: Int, group: Int, scaleType: WeightFormat.ScaleType) throws {
        let file = try SafetensorsFile(path: Fixtures.path(name))
        #expect(file.metadata["format"] == "mlx")
        let matrix = try file.matrix("proj.weight")
        #expect(matrix.rows == 3 && matrix.cols == 128)
        #expect(matrix.format == .mlxAffine(bits: bits, groupSize: group, scaleType: scaleType))
        #expect(matrix.data == (try file.require("proj.weight")).data)
        #expect(matrix.scales == (try file.require("proj.scales")).data)
        #expect(matrix.biases == (try file.require("proj.biases")).data)
        let expected = try file.floats("expected", shape: [3, 128])
        for r in 0..<3 {
            #expect(try Self.dequantizedRow(matrix, r) == Array(expected[r * 128..<(r + 1) * 128]), "row \(r)")
        }
        // The same with the config and with the expected shape.
        let configured = try SafetensorsFile(path: Fixtures.path(name), mlxQuantization: MLXQuantization(bits: bits, groupSize: group))
        #expect(try configured.matrix("proj.weight", rows: 3, cols: 128).format == matrix.format)
        #expect(try file.floats("norm.weight", shape: [3]) == [1, -0.5, 0.25])
    }

    /// `PREFIX.weight` [rows, words], `.scales`/`.biases` [rows, groups] of zeros, f32 scales.
    static func triple(rows: Int = 2, words: Int, groups: Int, scaleDtype: TensorDType = .f32,
                       biasShape: [Int]? = nil) -> SafetensorsWriter {
        var writer = SafetensorsWriter()
        writer.add("layer.weight", dtype: .u32, shape: [rows, words], bytes: [UInt8](repeating: 0, count: rows * words * 4))
        writer.add("layer.scales", shape: [rows, groups], floats: [Float](repeating: 1, count: rows * groups), as: scaleDtype)
        let biases = biasShape ?? [rows, groups]
        writer.add("layer.biases", shape: biases, floats: [Float](repeating: 0, count: biases.reduce(1, *)), as: scaleDtype)
        return writer
    }

    @Test func ambiguousPackingNeedsTheConfigOrTheShape() throws {
        // 16 words and 2 groups a row: 4-bit groups of 64 (128 columns) or 8-bit groups of 32 (64).
        let bytes = Self.triple(words: 16, groups: 2).serialized()
        let file = try parseSafetensors(bytes)
        let error = try #require(weightError { _ = try file.matrix("layer.weight") })
        #expect(error.description == "test.safetensors: tensor 'layer.weight': layer.weight has 16 words a row and .scales 2 groups a row, which fits both 4-bit groups of 64 and 8-bit groups of 32; give the quantization from config.json or the expected shape")
        #expect(try file.matrix("layer.weight", rows: 2, cols: 128).format == .mlxAffine(bits: 4, groupSize: 64, scaleType: .f32))
        #expect(try file.matrix("layer.weight", rows: 2, cols: 64).format == .mlxAffine(bits: 8, groupSize: 32, scaleType: .f32))
        let configured = try SafetensorsFile(source: InMemoryBytes(bytes), mlxQuantization: MLXQuantization(bits: 8, groupSize: 32))
        #expect(try configured.matrix("layer.weight").cols == 64)
        let disagreeing = try #require(weightError { _ = try configured.matrix("layer.weight", rows: 2, cols: 128) })
        #expect(disagreeing.description.contains("expected 128 columns but 8-bit groups of 32 packing gives 64"))
        let wrongConfig = try SafetensorsFile(source: InMemoryBytes(bytes), mlxQuantization: MLXQuantization(bits: 8, groupSize: 64))
        let misfit = try #require(weightError { _ = try wrongConfig.matrix("layer.weight") })
        #expect(misfit.description.contains("the configured quantization (8-bit groups of 64) does not fit: layer.weight has 16 words a row and .scales 2 groups a row"))
    }

    @Test func groupsOf128ComeFromTheConfigOrTheExpectedShape() throws {
        // 16 words and 1 group a row: 4-bit groups of 128 (128 columns), or by shape alone the
        // published 8-bit groups of 64 (64 columns).
        let bytes = Self.triple(words: 16, groups: 1, scaleDtype: .bf16).serialized()
        let file = try parseSafetensors(bytes)
        #expect(try file.matrix("layer.weight", rows: 2, cols: 128).format == .mlxAffine(bits: 4, groupSize: 128, scaleType: .bf16))
        #expect(try file.matrix("layer.weight").format == .mlxAffine(bits: 8, groupSize: 64, scaleType: .bf16))
        let configured = try SafetensorsFile(source: InMemoryBytes(bytes), mlxQuantization: MLXQuantization(bits: 4, groupSize: 128))
        #expect(try configured.matrix("layer.weight").cols == 128)
    }

    @Test func unsupportedOrInconsistentTriplesAreRefused() throws {
        // 3 words, 1 group: 96 columns at 4 bits in a group of 96, or 8 bits... none supported.
        let odd = try parseSafetensors(Self.triple(words: 3, groups: 1).serialized())
        let none = try #require(weightError { _ = try odd.matrix("layer.weight") })
        #expect(none.description.contains("which fits no quantization inferable from shapes (bits 4 or 8, group size 32 or 64)"))
        let sixBit = try #require(weightError { _ = try odd.matrix("layer.weight", rows: 2, cols: 16) })
        #expect(sixBit.description.contains("for 16 columns that is 6-bit groups of 16, which is not supported"))

        var noScales = SafetensorsWriter()
        noScales.add("layer.weight", dtype: .u32, shape: [1, 4], bytes: [UInt8](repeating: 0, count: 16))
        let missing = try #require(weightError { _ = try parseSafetensors(noScales.serialized()).matrix("layer.weight") })
        #expect(missing.description == "test.safetensors: tensor 'layer.weight': is U32 (MLX packed), but layer.scales or layer.biases is missing")

        let shapes = try #require(weightError { _ = try parseSafetensors(Self.triple(words: 16, groups: 2, biasShape: [2, 1]).serialized()).matrix("layer.weight") })
        #expect(shapes.description.contains("MLX scales F32 [2, 2] and biases F32 [2, 1] differ"))

        var rows = SafetensorsWriter()
        rows.add("layer.weight", dtype: .u32, shape: [3, 16], bytes: [UInt8](repeating: 0, count: 192))
        rows.add("layer.scales", shape: [2, 4], floats: [Float](repeating: 1, count: 8))
        rows.add("layer.biases", shape: [2, 4], floats: [Float](repeating: 1, count: 8))
        let rowError = try #require(weightError { _ = try parseSafetensors(rows.serialized()).matrix("layer.weight") })
        #expect(rowError.description.contains("MLX weight has 3 rows but scales have 2"))

        var plain = SafetensorsWriter()
        plain.add("codes", dtype: .u32, shape: [2, 2], bytes: [UInt8](repeating: 0, count: 16))
        let notMLX = try #require(weightError { _ = try parseSafetensors(plain.serialized()).matrix("codes") })
        #expect(notMLX.description.contains("is U32, which is a matrix only as an MLX PREFIX.weight"))
    }

    @Test func quantizationFromConfigJSON() throws {
        func parse(_ text: String) throws -> MLXQuantization? {
            try Array(text.utf8).withUnsafeBytes { try MLXQuantization.fromConfig(json: $0, file: "config.json") }
        }
        #expect(try parse(#"{"dim": 4096, "quantization": {"group_size": 64, "bits": 8, "mode": "affine"}, "x": [1, {"y": null}]}"#)
                == MLXQuantization(bits: 8, groupSize: 64))
        #expect(try parse(#"{"quantization_config": {"bits": 4, "group_size": 32}}"#) == MLXQuantization(bits: 4, groupSize: 32))
        #expect(try parse(#"{"dim": 4096}"#) == nil)
        let unsupported = try #require(weightError { _ = try parse(#"{"quantization": {"group_size": 64, "bits": 6}}"#) })
        #expect(unsupported.description.contains("config.json: config JSON: quantization 6-bit groups of 64 is not supported"))
        let incomplete = try #require(weightError { _ = try parse(#"{"quantization": {"bits": 4}}"#) })
        #expect(incomplete.description.contains("quantization needs integer \"bits\" and \"group_size\""))
        let broken = try #require(weightError { _ = try parse(#"{"quantization": "#) })
        #expect(broken.kind == .format)

        let path = Scratch.write(Array(#"{"quantization": {"group_size": 32, "bits": 4}}"#.utf8), "config.json")
        #expect(try MLXQuantization.fromConfig(path: path) == MLXQuantization(bits: 4, groupSize: 32))
    }
}
