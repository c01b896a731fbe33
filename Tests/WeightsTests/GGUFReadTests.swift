import Foundation
import Testing
import MoshiNumerics
@testable import Weights

@Suite struct GGUFReadTests {
    static let everyValueType: [(String, GGUFValue)] = [
        ("t.u8", .uint8(200)), ("t.i8", .int8(-100)), ("t.u16", .uint16(60000)), ("t.i16", .int16(-30000)),
        ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-2_000_000_000)), ("t.f32", .float32(0.5)),
        ("t.bool", .bool(true)), ("t.string", .string("héllo")), ("t.u64", .uint64(.max)),
        ("t.i64", .int64(.min)), ("t.f64", .float64(-0.125)),
        ("t.array", .array(.string(["a", "", "ü"]))),
        ("t.nested", .array(.array([.int32([1, -2]), .float64([]), .bool([true, false])]))),
    ]

    /// Values a Q8_0 block holds exactly: max |x| = 63.5 gives d = 0.5, so x = 0.5 * q.
    static let q8Exact: [Float] = (0..<64).map { i in i % 32 == 5 ? 63.5 : Float(i % 32 - 16) * 0.5 }
    /// Values a Q4_0 block holds exactly: the extreme is -2 (d = 0.25) and x = 0.25 * (n - 8).
    static let q4Exact: [Float] = (0..<64).map { i in i % 32 == 3 ? -2 : Float(i % 16 - 8) * 0.25 }

    @Test func metadataOfEveryTypeRoundTrips() throws {
        var writer = GGUFWriter()
        for (key, value) in Self.everyValueType { writer.set(key, value) }
        let file = try parseGGUF(writer.serialized())
        #expect(file.version == 3)
        #expect(file.alignment == 32)
        #expect(file.metadata.map(\.key) == Self.everyValueType.map(\.0))
        for (key, value) in Self.everyValueType {
            #expect(file.value(forKey: key) == value, "\(key)")
        }
        #expect(file.tensors.isEmpty)
    }

    @Test func tensorsOfEverySupportedTypeRoundTrip() throws {
        let floats: [Float] = [1.5, -2.25, 0, 65280, 3.140625, -0.5]
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("test"))
        writer.add("f32", shape: [2, 3], floats: floats, as: .f32)
        writer.add("f16", shape: [3, 2], floats: floats, as: .f16)
        writer.add("bf16", shape: [6], floats: floats, as: .bf16)
        writer.add("q8", shape: [2, 32], floats: Self.q8Exact, as: .q8_0)
        writer.add("q4", shape: [2, 32], floats: Self.q4Exact, as: .q4_0)
        let path = Scratch.write(writer.serialized(), "every-type.gguf")
        let file = try GGUFFile(path: path)

        #expect(file.tensorNames == ["f32", "f16", "bf16", "q8", "q4"])
        for name in ["f32", "f16", "bf16"] { #expect(try file.require(name).floats() == floats, "\(name)") }
        #expect(try file.require("q8", shape: [2, 32]).floats() == Self.q8Exact)
        #expect(try file.require("q4", shape: [2, 32]).floats() == Self.q4Exact)
        #expect(try file.require("q8").byteCount == 2 * 34)
        #expect(try file.require("q4").byteCount == 2 * 18)
        for tensor in file.tensors {
            #expect((tensor.fileOffset - file.dataOffset) % 32 == 0, "\(tensor.name) aligned")
        }
        // GGUF dims are innermost first; the shape is row-major.
        let info = try #require(file.tensorInfos.first { $0.name == "f32" })
        #expect(info.dims == [3, 2])
        #expect(info.shape == [2, 3])
        #expect(info.type == .f32)
    }

    @Test func quantizedTensorsAreMatricesWithRowsAndColumns() throws {
        var writer = GGUFWriter()
        writer.add("attn.weight", shape: [3, 64], floats: (0..<192).map { Float($0) / 10 }, as: .q8_0)
        writer.add("ffn.weight", shape: [2, 2, 32], floats: Self.q4Exact + Self.q4Exact, as: .q4_0)
        writer.add("norm", shape: [64], floats: [Float](repeating: 1, count: 64), as: .f32)
        let file = try parseGGUF(writer.serialized())
        let attention = try file.matrix("attn.weight", rows: 3, cols: 64)
        #expect(attention.format == .q8_0)
        #expect(attention.data == (try file.require("attn.weight")).data)
        let ffn = try file.matrix("ffn.weight")
        #expect(ffn.rows == 4 && ffn.cols == 32 && ffn.format == .q4_0)
        let first = try file.require("attn.weight").floats()
        #expect(first.count == 192)
        #expect(abs(first[191] - 19.1) < 19.1 / 127)
    }

    /// Every alignment puts the data section (and each tensor) at its own multiple: a reader
    /// that rounds to the default 32 instead reads the wrong bytes for some header lengths.
    @Test(arguments: [16, 64, 128, 256, 4096])
    func theDataSectionFollowsGeneralAlignment(alignment: Int) throws {
        for nameLength in 1...6 {
            var writer = GGUFWriter(alignment: alignment)
            writer.add(String(repeating: "a", count: nameLength), shape: [3], floats: [1, 2, 3])
            writer.add("b", shape: [2], floats: [4, 5])
            let file = try parseGGUF(writer.serialized())
            #expect(file.dataOffset % alignment == 0 && file.dataOffset > 0)
            #expect(try file.require(String(repeating: "a", count: nameLength)).floats() == [1, 2, 3], "alignment \(alignment)")
            #expect(try file.require("b").floats() == [4, 5], "alignment \(alignment)")
        }
    }

    @Test func customAlignmentAndVersion2() throws {
        var writer = GGUFWriter(alignment: 64)
        writer.add("a", shape: [3], floats: [1, 2, 3])
        writer.add("b", shape: [1], floats: [4])
        var bytes = writer.serialized()
        let file = try parseGGUF(bytes)
        #expect(file.alignment == 64)
        #expect(file.value(forKey: "general.alignment") == .uint32(64))
        #expect(file.dataOffset % 64 == 0)
        #expect(try file.require("b").fileOffset == file.dataOffset + 64)
        bytes[4] = 2
        let version2 = try parseGGUF(bytes)
        #expect(version2.version == 2)
        #expect(try version2.require("b").floats() == [4])
    }

    @Test func referenceFixtureWrittenByGGUFPy() throws {
        let file = try GGUFFile(path: Fixtures.path("small.gguf"))
        #expect(file.version == 3)
        #expect(file.value(forKey: "general.architecture") == .string("fixture"))
        let expected: [(String, GGUFValue)] = [
            ("test.u8", .uint8(200)), ("test.i8", .int8(-100)), ("test.u16", .uint16(60000)),
            ("test.i16", .int16(-30000)), ("test.u32", .uint32(4_000_000_000)), ("test.i32", .int32(-2_000_000_000)),
            ("test.f32", .float32(0.5)), ("test.bool", .bool(true)), ("test.string", .string("héllo")),
            ("test.u64", .uint64(1 << 63 + 5)), ("test.i64", .int64(-(1 << 62))), ("test.f64", .float64(0.125)),
            ("test.array_i32", .array(.int32([1, -2, 3]))), ("test.array_str", .array(.string(["a", "bc", ""]))),
        ]
        for (key, value) in expected { #expect(file.value(forKey: key) == value, "\(key)") }

        #expect(try file.require("f32", shape: [2, 3]).floats() == [0, 1, 2, 3, 4, 5])
        #expect(try file.require("f16", shape: [2, 2]).floats() == [0.5, -1.5, 2, 1024])
        let source = try file.require("source", shape: [4, 64]).floats()
        #expect(abs(source[1] - sin(Float(0.37)) * 3) < 1e-6)
        #expect(try file.require("bf16", shape: [1, 8]).floats() == source.prefix(8).map { HalfPrecision.float(fromBF16: HalfPrecision.bf16Bits($0)) })
        // Our dequantizers agree exactly with gguf-py's; our quantizers produce its bytes.
        for (name, dtype) in [("q8_0", TensorDType.q8_0), ("q4_0", .q4_0)] {
            let tensor = try file.require(name, shape: [4, 64])
            #expect(tensor.dtype == dtype)
            #expect(bits(try tensor.floats()) == bits(try file.require(name + ".expected").floats()), "\(name) dequantized")
            #expect(TensorEncoding.bytes(of: source, as: dtype) == Array(tensor.bytes), "\(name) quantized")
            let matrix = try file.matrix(name, rows: 4, cols: 64)
            #expect(matrix.data == tensor.data)
        }
    }

    @Test func valueSummariesShortenLongValues() {
        #expect(GGUFValue.string(String(repeating: "x", count: 100)).summary(limit: 10) == "\"xxxxxxxxxx...\"")
        #expect(GGUFValue.string("a\nb").summary() == "\"a\\nb\"")
        #expect(GGUFValue.array(.uint32(Array(0..<1000))).summary() == "[u32 x 1000: 0, 1, 2, 3, 4, 5, 6, 7, ...]")
        #expect(GGUFValue.array(.string(["<unk>", "<s>"])).summary() == "[string x 2: \"<unk>\", \"<s>\"]")
        #expect(GGUFValue.array(.array([.int8([1])])).summary() == "[array x 1: [i8 x 1]]")
        #expect(GGUFValue.array(.float64([])).summary() == "[f64 x 0]")
    }

    @Test func ggmlTypeNames() {
        #expect(GGMLType(rawValue: 12).description == "Q4_K (12)")
        #expect(GGMLType(rawValue: 30).name == "BF16")
        #expect(GGMLType(rawValue: 39).name == "MXFP4")
        #expect(GGMLType(rawValue: 1000).description == "unknown (1000)")
        #expect(GGMLType.supported.map(\.name) == ["F32", "F16", "BF16", "Q8_0", "Q4_0"])
        #expect((0...41).filter { GGMLType.names[UInt32($0)] == nil }.isEmpty)
    }
}
