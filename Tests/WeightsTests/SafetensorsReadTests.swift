import Testing
import MoshiNumerics
@testable import Weights

@Suite struct SafetensorsReadTests {
    /// Values every dtype stores exactly (f16: up to 65504 and 2^-14; bf16: 8 significant bits).
    static let exactFloats: [Float] = [0, -0.0, 1.5, -2.25, 65280, 0.00006103515625, 3.140625, -1024]

    @Test func everyDtypeRoundTripsExactlyThroughAMappedFile() throws {
        var writer = SafetensorsWriter(metadata: ["format": "pt", "note": "x\"y"])
        writer.add("f32", shape: [2, 4], floats: Self.exactFloats, as: .f32)
        writer.add("f16", shape: [8], floats: Self.exactFloats, as: .f16)
        writer.add("bf16", shape: [4, 2], floats: Self.exactFloats, as: .bf16)
        writer.add("i8", dtype: .i8, shape: [3], bytes: TensorEncoding.bytes(of: [Int8(-128), 0, 127]))
        writer.add("u8", dtype: .u8, shape: [3], bytes: [0, 7, 255])
        writer.add("i32", dtype: .i32, shape: [2], bytes: TensorEncoding.bytes(of: [Int32.min, Int32.max]))
        writer.add("i64", dtype: .i64, shape: [2], bytes: TensorEncoding.bytes(of: [Int64.min, Int64.max]))
        writer.add("u32", dtype: .u32, shape: [1, 2], bytes: TensorEncoding.bytes(of: [UInt32(0), UInt32.max]))
        let path = Scratch.write(writer.serialized(), "every-dtype.safetensors")

        let file = try SafetensorsFile(path: path)
        #expect(file.metadata == ["format": "pt", "note": "x\"y"])
        #expect(file.tensorNames == ["f32", "f16", "bf16", "i8", "u8", "i32", "i64", "u32"])
        #expect(file.dataOffset % 8 == 0)
        for name in ["f32", "f16", "bf16"] {
            #expect(bits(try file.require(name).floats()) == bits(Self.exactFloats), "\(name)")
        }
        #expect(try file.require("f16").dtype == .f16)
        #expect(try file.require("bf16", shape: [4, 2]).byteCount == 16)
        #expect(try file.require("i8").integers() == [-128, 0, 127])
        #expect(try file.require("u8").integers() == [0, 7, 255])
        #expect(try file.require("i32").integers() == [Int(Int32.min), Int(Int32.max)])
        #expect(try file.require("i64").integers() == [Int.min, Int.max])
        #expect(try file.require("u32").integers() == [0, Int(UInt32.max)])
    }

    @Test func tensorsAreViewsIntoTheMappingNotCopies() throws {
        var writer = SafetensorsWriter()
        writer.add("a", shape: [3], floats: [1, 2, 3])
        writer.add("b", shape: [2], floats: [4, 5])
        let file = try SafetensorsFile(path: Scratch.write(writer.serialized(), "views.safetensors"))
        let base = try #require(file.source.bytes.baseAddress)
        let b = try file.require("b")
        #expect(b.data == base + file.dataOffset + 12)
        #expect(b.fileOffset == file.dataOffset + 12)
        #expect(b.data.loadUnaligned(as: Float.self) == 4)
    }

    @Test func numpyFixtureReadsWithExactValues() throws {
        let file = try SafetensorsFile(path: Fixtures.path("numpy_dtypes.safetensors"))
        #expect(file.metadata == ["format": "np", "note": "fixture"])
        #expect(bits(try file.require("f32", shape: [2, 3]).floats()) == bits([0.5, -1.25, 3.0e-3, 65504, -0.0, 1.0e-30]))
        #expect(try file.require("f16", shape: [4]).floats() == [1.5, -2.0, 0.0999755859375, 65504])
        #expect(try file.require("i8").integers() == [-128, -1, 0, 127])
        #expect(try file.require("u8").integers() == [0, 1, 254, 255])
        #expect(try file.require("i32", shape: [2, 2]).integers() == [-2147483648, 2147483647, 7, -7])
        #expect(try file.require("i64").integers() == [Int.min, Int.max, 42])
        #expect(try file.require("scalar", shape: []).floats() == [3.25])
        #expect(try file.require("empty", shape: [0, 4]).floats() == [])
    }

    @Test func bf16ConversionRoundsToNearestEven() {
        #expect(HalfPrecision.bf16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even stays
        #expect(HalfPrecision.bf16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, odd rounds up
        #expect(HalfPrecision.bf16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)  // above the tie
        #expect(HalfPrecision.bf16Bits(.nan) == 0x7FC0)
        #expect(HalfPrecision.float(fromBF16: 0xC049) == -3.140625)
        #expect(HalfPrecision.float(fromF16: 0x7BFF) == 65504)
    }

    @Test func requireNamesTheMissingTensorAndCloseNames() throws {
        var writer = SafetensorsWriter()
        writer.add("encoder.model.0.conv.conv.weight", shape: [2], floats: [1, 2])
        writer.add("encoder.model.0.conv.conv.bias", shape: [1], floats: [1])
        let file = try parseSafetensors(writer.serialized())
        let missing = try #require(weightError { _ = try file.require("encoder.model.0.conv.weight") })
        #expect(missing.kind == .missingTensor)
        #expect(missing.tensor == "encoder.model.0.conv.weight")
        #expect(missing.description.contains("test.safetensors: tensor 'encoder.model.0.conv.weight': not found among the 2 tensors"))
        #expect(missing.description.contains("closest: encoder.model.0.conv.conv.weight"))

        let wrongShape = try #require(weightError { _ = try file.require("encoder.model.0.conv.conv.weight", shape: [2, 1]) })
        #expect(wrongShape.kind == .mismatch)
        #expect(wrongShape.description.contains("'encoder.model.0.conv.conv.weight': expected shape [2, 1], found [2]"))
    }

    @Test func matrixViewsDenseTensorsInPlace() throws {
        var writer = SafetensorsWriter()
        writer.add("linear.weight", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6], as: .bf16)
        writer.add("conv.weight", shape: [4, 2, 3], floats: [Float](repeating: 0.5, count: 24), as: .f16)
        writer.add("norm.alpha", shape: [3], floats: [1, 1, 1])
        writer.add("ids", dtype: .i32, shape: [1, 1], bytes: [0, 0, 0, 0])
        let file = try parseSafetensors(writer.serialized())

        let linear = try file.matrix("linear.weight", rows: 2, cols: 3)
        #expect(linear.format == .bf16)
        #expect(linear.data == (try file.require("linear.weight")).data)
        #expect(linear.scales == nil)
        let conv = try file.matrix("conv.weight")
        #expect(conv.rows == 4 && conv.cols == 6 && conv.format == .f16)

        let wrongShape = try #require(weightError { _ = try file.matrix("linear.weight", rows: 3, cols: 2) })
        #expect(wrongShape.description.contains("expected a [3, 2] matrix, found [2, 3] (bf16)"))
        let vector = try #require(weightError { _ = try file.matrix("norm.alpha") })
        #expect(vector.description.contains("'norm.alpha': has shape [3], which is not a matrix"))
        let integer = try #require(weightError { _ = try file.matrix("ids") })
        #expect(integer.description.contains("'ids': has dtype I32, which is not a weight matrix type"))
    }

    @Test func floatsRefusesIntegerTensorsByName() throws {
        var writer = SafetensorsWriter()
        writer.add("steps", dtype: .i64, shape: [1], bytes: TensorEncoding.bytes(of: [Int64(3)]))
        let file = try parseSafetensors(writer.serialized())
        let error = try #require(weightError { _ = try file.require("steps").floats() })
        #expect(error.description == "test.safetensors: tensor 'steps': has dtype I64, which is not a float type (floats() takes F32, F16, BF16, Q8_0, Q4_0)")
    }

    @Test func severalFilesOpenAsOneStore() throws {
        var first = SafetensorsWriter()
        first.add("lm.weight", shape: [1, 2], floats: [1, 2])
        var second = SafetensorsWriter()
        second.add("mimi.weight", shape: [2], floats: [3, 4])
        let a = Scratch.write(first.serialized(), "part-a.safetensors")
        let b = Scratch.write(second.serialized(), "part-b.safetensors")
        let store = try WeightFiles(paths: [a, b])
        #expect(store.tensorNames == ["lm.weight", "mimi.weight"])
        #expect(try store.floats("mimi.weight", shape: [2]) == [3, 4])
        #expect(try store.require("lm.weight").source.name == a)
        let missing = try #require(weightError { _ = try store.require("nothing") })
        #expect(missing.file == "\(a) + \(b)")

        let duplicate = try #require(weightError { _ = try WeightFiles(paths: [a, a]) })
        #expect(duplicate.description == "\(a): tensor 'lm.weight': is also in \(a); tensor names must be unique across files")
    }

    @Test func openTellsGGUFFromSafetensorsByMagic() throws {
        var gguf = GGUFWriter()
        gguf.add("x", shape: [2], floats: [1, 2])
        var safetensors = SafetensorsWriter()
        safetensors.add("y", shape: [1], floats: [3])
        #expect(try WeightFiles.open(InMemoryBytes(gguf.serialized())) is GGUFFile)
        #expect(try WeightFiles.open(InMemoryBytes(safetensors.serialized())) is SafetensorsFile)
    }
}
