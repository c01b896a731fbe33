import Testing
@testable import Weights

/// One test per way a safetensors file can be broken: each must give a typed error whose
/// message names the file, the tensor (when there is one) and the problem, and never crash.
@Suite struct SafetensorsCorruptionTests {
    /// A valid two-tensor header, for the tests that break one thing in it.
    static func entry(_ name: String, dtype: String = "F32", shape: String = "[2]", offsets: String) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
    }

    func error(header: String, data: [UInt8] = [UInt8](repeating: 0, count: 16)) throws -> WeightFileError {
        try #require(weightError { _ = try parseSafetensors(safetensorsBytes(header: header, data: data)) })
    }

    @Test func fileShorterThanTheLengthPrefix() throws {
        let error = try #require(weightError { _ = try parseSafetensors([1, 2, 3, 4, 5]) })
        #expect(error.kind == .truncated)
        #expect(error.description == "test.safetensors: the file is 5 bytes, shorter than the 8-byte header length that starts a safetensors file")
    }

    @Test func dataCutShort() throws {
        var writer = SafetensorsWriter()
        writer.add("a", shape: [2], floats: [1, 2])
        writer.add("b", shape: [4], floats: [1, 2, 3, 4])
        let whole = writer.serialized()
        let error = try #require(weightError { _ = try parseSafetensors(Array(whole.dropLast(3))) })
        #expect(error.kind == .offsets)
        #expect(error.tensor == "b")
        #expect(error.description.contains("tensor 'b': data_offsets [8, 24] run past the end of the data area (21 bytes"))
    }

    @Test func headerLengthAboveTheLimit() throws {
        let bytes = safetensorsBytes(header: "{}", declaredLength: 100_000_001)
        let error = try #require(weightError { _ = try parseSafetensors(bytes) })
        #expect(error.kind == .header)
        #expect(error.description.contains("header length 100000001 is larger than the limit of 100000000 bytes"))
        let huge = try #require(weightError { _ = try parseSafetensors(safetensorsBytes(header: "{}", declaredLength: .max)) })
        #expect(huge.description.contains("header length 18446744073709551615 is larger than the limit"))
    }

    @Test func headerLengthPastTheEndOfTheFile() throws {
        let error = try #require(weightError { _ = try parseSafetensors(safetensorsBytes(header: "{}", declaredLength: 3)) })
        #expect(error.kind == .truncated)
        #expect(error.description == "test.safetensors: header length 3 runs past the end of the file (10 bytes)")
    }

    /// Syntax errors inside a tensor entry (in a field the reader skips but still checks).
    @Test(arguments: [
        ("{\"a\":1,}", "trailing comma"),
        ("01", "leading zero"),
        ("\"x", "unterminated string"),
        ("\"\\q\"", "bad escape"),
        ("\"\\ud800\"", "lone surrogate"),
        ("tru", "bad literal"),
        ("[1 2]", "missing comma"),
        ("{a:1}", "unquoted key"),
        ("\"tab\there\"", "control character"),
        ("1.", "fraction without digits"),
        ("-", "lone minus"),
    ])
    func badJSON(value: String, what: String) throws {
        let header = "{\"a\":{\"extra\":\(value),\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}"
        let error = try self.error(header: header)
        #expect(error.kind == .header, "\(what)")
        #expect(error.description.hasPrefix("test.safetensors: tensor 'a': bad header JSON at byte"), "\(what): \(error)")
    }

    @Test func badJSONAroundTheEntries() throws {
        let trailing = try self.error(header: "{" + Self.entry("w", offsets: "[0,8]") + ",}")
        #expect(trailing.description.hasPrefix("test.safetensors: bad header JSON at byte"))
        #expect(trailing.description.contains("expected a string key"))
        let after = try self.error(header: "{" + Self.entry("w", offsets: "[0,8]") + "} x")
        #expect(after.description.contains("unexpected text after the top-level value"))
        let unterminated = try self.error(header: "{" + Self.entry("w", offsets: "[0,8]"))
        #expect(unterminated.description.contains("bad header JSON at byte 61: expected ',' or '}' in an object"))
    }

    @Test func invalidUTF8InAString() throws {
        var bytes = safetensorsBytes(header: "{\"__metadata__\":{\"k\":\"ab\"}}")
        bytes[8 + 22] = 0xFF
        let error = try #require(weightError { _ = try parseSafetensors(bytes) })
        #expect(error.description.contains("string is not valid UTF-8"))
    }

    @Test func headerThatIsNotAnObject() throws {
        let error = try self.error(header: "[1, 2]")
        #expect(error.description == "test.safetensors: the header is not a JSON object (is this a safetensors file?)")
    }

    @Test func deepNestingIsRefusedWithoutRecursingFar() throws {
        let depth = 100_000
        let deep = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let inTensor = try self.error(header: "{\"a\":{\"extra\":\(deep),\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}")
        #expect(inTensor.tensor == "a")
        #expect(inTensor.description.contains("nesting deeper than 64 levels"))
        let inMetadataSkip = try self.error(header: "{\"__metadata__\":{\"k\":\(deep)}}")
        #expect(inMetadataSkip.description.contains("__metadata__ value of 'k' is not a string"))
        let objects = String(repeating: "{\"k\":", count: depth) + "1" + String(repeating: "}", count: depth)
        let nestedObjects = try self.error(header: "{\"a\":\(objects)}")
        #expect(nestedObjects.description.contains("nesting deeper than 64 levels"))
    }

    @Test func unknownDtypeIsNamed() throws {
        let error = try self.error(header: "{" + Self.entry("layer.0.weight", dtype: "F64", offsets: "[0,16]") + "}")
        #expect(error.kind == .unsupportedType)
        #expect(error.description == "test.safetensors: tensor 'layer.0.weight': dtype 'F64' is not supported (supported: F32, F16, BF16, I8, U8, I32, I64, U32)")
    }

    @Test func offsetsOutsideTheFile() throws {
        let error = try self.error(header: "{" + Self.entry("w", shape: "[100]", offsets: "[0,400]") + "}")
        #expect(error.kind == .offsets)
        #expect(error.description == "test.safetensors: tensor 'w': data_offsets [0, 400] run past the end of the data area (16 bytes; the file is truncated or the offsets are wrong)")
        let reversed = try self.error(header: "{" + Self.entry("w", shape: "[0]", offsets: "[8,4]") + "}")
        #expect(reversed.description.contains("tensor 'w': data_offsets [8, 4] are not an ordered pair"))
        let negative = try self.error(header: "{" + Self.entry("w", shape: "[0]", offsets: "[-4,0]") + "}")
        #expect(negative.description.contains("data_offsets [-4, 0] are not an ordered pair of non-negative offsets"))
    }

    @Test func overlappingTensorsAreNamed() throws {
        let header = "{" + Self.entry("first", offsets: "[0,8]") + "," + Self.entry("second", offsets: "[4,12]") + "}"
        let error = try self.error(header: header)
        #expect(error.kind == .overlap)
        #expect(error.description == "test.safetensors: tensor 'second': its bytes overlap those of tensor 'first'")
        let same = try self.error(header: "{" + Self.entry("x", offsets: "[8,16]") + "," + Self.entry("y", offsets: "[8,16]") + "}")
        #expect(same.kind == .overlap)
    }

    @Test func sizeNotMatchingTheShape() throws {
        let error = try self.error(header: "{" + Self.entry("bias", shape: "[3]", offsets: "[0,8]") + "}")
        #expect(error.description == "test.safetensors: tensor 'bias': data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12")
    }

    @Test func negativeAndHugeShapes() throws {
        let negative = try self.error(header: "{" + Self.entry("w", shape: "[2,-1]", offsets: "[0,8]") + "}")
        #expect(negative.kind == .shape)
        #expect(negative.description == "test.safetensors: tensor 'w': shape [2, -1] has a negative dimension -1")
        let overflow = try self.error(header: "{" + Self.entry("w", shape: "[4294967296,4294967296]", offsets: "[0,8]") + "}")
        #expect(overflow.description == "test.safetensors: tensor 'w': shape [4294967296, 4294967296] is too large: its element or byte count overflows 64 bits")
        // Empty, yet rows x cols would overflow: refused too, so no partial product can overflow.
        let emptyButHuge = try self.error(header: "{" + Self.entry("w", shape: "[0,4294967296,4294967296]", offsets: "[0,0]") + "}")
        #expect(emptyButHuge.description.contains("shape [0, 4294967296, 4294967296] is too large"))
        let bytesOverflow = try self.error(header: "{" + Self.entry("w", shape: "[4611686018427387904]", offsets: "[0,8]") + "}")
        #expect(bytesOverflow.description.contains("is too large: its element or byte count overflows 64 bits"))
        let tooLong = try self.error(header: "{" + Self.entry("w", shape: "[99999999999999999999]", offsets: "[0,8]") + "}")
        #expect(tooLong.description.contains("tensor 'w': bad header JSON at byte"))
        #expect(tooLong.description.contains("integer does not fit in 64 bits"))
        let rank = try self.error(header: "{" + Self.entry("w", shape: "[" + Array(repeating: "1", count: 17).joined(separator: ",") + "]", offsets: "[0,4]") + "}")
        #expect(rank.description.contains("tensor 'w': shape has more than 16 numbers"))
        let fraction = try self.error(header: "{" + Self.entry("w", shape: "[2.5]", offsets: "[0,8]") + "}")
        #expect(fraction.description.contains("expected an integer"))
    }

    @Test func missingAndMalformedFields() throws {
        let noDtype = try self.error(header: "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}")
        #expect(noDtype.description == "test.safetensors: tensor 'w': the header entry has no dtype")
        let noOffsets = try self.error(header: "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}")
        #expect(noOffsets.description.contains("tensor 'w': the header entry has no data_offsets"))
        let threeOffsets = try self.error(header: "{" + Self.entry("w", offsets: "[0,4,8]") + "}")
        #expect(threeOffsets.description.contains("data_offsets has more than 2 numbers"))
        let oneOffset = try self.error(header: "{" + Self.entry("w", offsets: "[0]") + "}")
        #expect(oneOffset.description.contains("data_offsets has 1 numbers, not 2"))
        let notObject = try self.error(header: "{\"w\":[1]}")
        #expect(notObject.description.contains("tensor 'w': the header entry is not an object"))
        let dtypeNumber = try self.error(header: "{\"w\":{\"dtype\":32}}")
        #expect(dtypeNumber.description.contains("tensor 'w': dtype is not a string"))
        let duplicate = try self.error(header: "{" + Self.entry("w", offsets: "[0,8]") + "," + Self.entry("w", offsets: "[8,16]") + "}")
        #expect(duplicate.description == "test.safetensors: tensor 'w': appears twice in the header")
        let metadataNumber = try self.error(header: "{\"__metadata__\":{\"version\":2}}")
        #expect(metadataNumber.description.contains("__metadata__ value of 'version' is not a string"))
    }

    @Test func unknownEntryFieldsAreSkipped() throws {
        let header = "{\"w\":{\"dtype\":\"F32\",\"extra\":{\"a\":[1,2.5e3,true,null,\"s\"]},\"shape\":[2],\"data_offsets\":[0,8]}}"
        let file = try parseSafetensors(safetensorsBytes(header: header, data: [0, 0, 128, 63, 0, 0, 0, 64]))
        #expect(try file.require("w").floats() == [1, 2])
    }
}
