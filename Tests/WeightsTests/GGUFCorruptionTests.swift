import Testing
@testable import Weights

/// One test per way a GGUF file can be broken: a typed error naming the file, the tensor or
/// key when there is one, and the problem; never a crash or a huge allocation.
@Suite struct GGUFCorruptionTests {
    func error(_ bytes: [UInt8]) throws -> WeightFileError {
        try #require(weightError { _ = try parseGGUF(bytes) })
    }

    /// A file with one key-value and one F32 tensor `w` of `dims`, data padded to the alignment.
    func oneTensor(dims: [UInt64] = [4], type: UInt32 = 0, offset: UInt64 = 0, dataBytes: Int = 16,
                   keyValues: [UInt8] = ggufString("general.name") + le(UInt32(8)) + ggufString("x"), kvCount: UInt64 = 1) -> [UInt8] {
        let header = ggufBytes(tensors: 1, keyValues: kvCount, body: keyValues + ggufTensorInfo("w", dims: dims, type: type, offset: offset))
        return padded(header) + [UInt8](repeating: 0, count: dataBytes)
    }

    @Test func theHandBuiltBaselineIsValid() throws {
        let file = try parseGGUF(oneTensor())
        #expect(try file.require("w", shape: [4]).floats() == [0, 0, 0, 0])
        #expect(file.value(forKey: "general.name") == .string("x"))
    }

    @Test func badMagic() throws {
        let error = try self.error(Array("GGML".utf8) + le(UInt32(3)) + le(UInt64(0)) + le(UInt64(0)))
        #expect(error.kind == .format)
        #expect(error.description == "test.gguf: not a GGUF file: it starts with 0x47 0x47 0x4D 0x4C, not 'GGUF'")
        let short = try self.error(Array("GG".utf8))
        #expect(short.kind == .truncated)
        #expect(short.description == "test.gguf: magic at byte 0 needs 4 bytes but the file has 2 left (file size 2)")
    }

    @Test func unsupportedVersions() throws {
        let one = try error(ggufBytes(version: 1, tensors: 0, keyValues: 0))
        #expect(one.description == "test.gguf: GGUF version 1 is not supported (supported: 2, 3)")
        let four = try error(ggufBytes(version: 4, tensors: 0, keyValues: 0))
        #expect(four.description.contains("GGUF version 4 is not supported"))
        let bigEndian = try error(ggufBytes(version: UInt32(3).byteSwapped, tensors: 0, keyValues: 0))
        #expect(bigEndian.description == "test.gguf: big-endian GGUF (version 3) is not supported")
    }

    @Test func hugeCountsFailBeforeAllocating() throws {
        let tensors = try error(ggufBytes(tensors: .max, keyValues: 0, body: [UInt8](repeating: 0, count: 100)))
        #expect(tensors.description == "test.gguf: tensor count 18446744073709551615 is impossible: the file (124 bytes) has room for at most 4 tensor infos")
        let keyValues = try error(ggufBytes(tensors: 0, keyValues: 1 << 40))
        #expect(keyValues.description == "test.gguf: metadata key-value count 1099511627776 is impossible: the file (24 bytes) has room for at most 0")
        let array = try error(ggufBytes(tensors: 0, keyValues: 1, body: ggufString("vocab") + le(UInt32(9)) + le(UInt32(8)) + le(UInt64(1 << 60))))
        #expect(array.description.contains("metadata 'vocab': an array of 1152921504606846976 elements cannot fit in the 0 bytes left"))
    }

    @Test func badAlignment() throws {
        func alignment(_ value: [UInt8], type: UInt32) -> [UInt8] {
            oneTensor(keyValues: ggufString("general.alignment") + le(type) + value)
        }
        let notPowerOfTwo = try error(alignment(le(UInt32(48)), type: 4))
        #expect(notPowerOfTwo.description == "test.gguf: general.alignment is 48, which is not a power of two")
        let zero = try error(alignment(le(UInt32(0)), type: 4))
        #expect(zero.description.contains("general.alignment is 0, which is not a power of two"))
        let text = try error(alignment(ggufString("32"), type: 8))
        #expect(text.description == "test.gguf: general.alignment is not an integer: \"32\"")
    }

    @Test func unsupportedTensorTypeIsNamed() throws {
        let bytes = padded(ggufBytes(tensors: 1, keyValues: 0, body: ggufTensorInfo("blk.0.attn_q.weight", dims: [256, 2], type: 12, offset: 0)))
            + [UInt8](repeating: 0, count: 288)
        let error = try self.error(bytes)
        #expect(error.kind == .unsupportedType)
        #expect(error.description == "test.gguf: tensor 'blk.0.attn_q.weight': has type Q4_K (12), which is not supported: supported are F32, F16, BF16, Q8_0, Q4_0")
        let unknown = try self.error(oneTensor(type: 99))
        #expect(unknown.description.contains("tensor 'w': has type unknown (99), which is not supported"))
    }

    @Test func stringLengthBeyondTheFile() throws {
        let key = try error(ggufBytes(tensors: 0, keyValues: 1, body: le(UInt64(1000)) + Array("abc".utf8) + [UInt8](repeating: 0, count: 20)))
        #expect(key.kind == .truncated)
        #expect(key.description == "test.gguf: metadata key 0: string length 1000 at byte 24 runs past the end of the file (23 bytes left)")
        let value = try error(ggufBytes(tensors: 0, keyValues: 1, body: ggufString("k") + le(UInt32(8)) + le(UInt64.max)))
        #expect(value.description.contains("value of metadata 'k': string length 18446744073709551615"))
        let name = try error(ggufBytes(tensors: 1, keyValues: 0, body: le(UInt64(1 << 62)) + [UInt8](repeating: 0, count: 24)))
        #expect(name.description.contains("name of tensor 0: string length 4611686018427387904 at byte 24 runs past the end"))
    }

    @Test func badMetadataValues() throws {
        let unknownType = try error(ggufBytes(tensors: 0, keyValues: 1, body: ggufString("k") + le(UInt32(13)) + [0]))
        #expect(unknownType.description == "test.gguf: metadata 'k' has unknown value type 13")
        let unknownElement = try error(ggufBytes(tensors: 0, keyValues: 1, body: ggufString("k") + le(UInt32(9)) + le(UInt32(77)) + le(UInt64(0))))
        #expect(unknownElement.description.contains("metadata 'k' is an array of unknown value type 77"))
        var nested = le(UInt32(0)) + le(UInt64(0))  // innermost: an empty u8 array
        for _ in 0..<20 { nested = le(UInt32(9)) + le(UInt64(1)) + nested }
        let deep = try error(ggufBytes(tensors: 0, keyValues: 1, body: ggufString("k") + le(UInt32(9)) + nested))
        #expect(deep.description.contains("metadata 'k' nests arrays deeper than 8 levels"))
        let duplicate = try error(ggufBytes(tensors: 0, keyValues: 2, body: (ggufString("k") + le(UInt32(0)) + [1]) + (ggufString("k") + le(UInt32(0)) + [2])))
        #expect(duplicate.description == "test.gguf: metadata key 'k' appears twice")
        let badKey = try error(ggufBytes(tensors: 0, keyValues: 1, body: le(UInt64(2)) + [0xC3, 0x28] + le(UInt32(0)) + [1]))
        #expect(badKey.description == "test.gguf: metadata key 0 at byte 24 is not valid UTF-8")
        let truncatedValue = try error(Array(ggufBytes(tensors: 0, keyValues: 1, body: ggufString("k") + le(UInt32(10)) + [UInt8](repeating: 1, count: 12)).dropLast(5)))
        #expect(truncatedValue.kind == .truncated)
    }

    @Test func badTensorInfos() throws {
        let rank = try error(oneTensor(dims: [1, 1, 1, 1, 1]))
        #expect(rank.description == "test.gguf: tensor 'w': has 5 dims; GGUF allows at most 4")
        let hugeDim = try error(oneTensor(dims: [.max]))
        #expect(hugeDim.description == "test.gguf: tensor 'w': dimension 18446744073709551615 is too large")
        let overflow = try error(oneTensor(dims: [1 << 32, 1 << 32]))
        #expect(overflow.description == "test.gguf: tensor 'w': dims [4294967296, 4294967296] are too large: they multiply past 64 bits")
        // Found by FuzzGGUF: no elements, but the outer dims' product overflowed in matrix().
        let emptyButHuge = try error(oneTensor(dims: [0, 3_345_155_767_185_335_655, 97, 0], dataBytes: 0))
        #expect(emptyButHuge.description == "test.gguf: tensor 'w': dims [0, 3345155767185335655, 97, 0] are too large: they multiply past 64 bits")
        let rowLength = try error(oneTensor(dims: [48, 2], type: 8))
        #expect(rowLength.description == "test.gguf: tensor 'w': row length ne[0] = 48 is not a multiple of the Q8_0 block length 32")
        let duplicate = try error(padded(ggufBytes(tensors: 2, keyValues: 0,
            body: ggufTensorInfo("w", dims: [1], type: 0, offset: 0) + ggufTensorInfo("w", dims: [1], type: 0, offset: 32))) + [UInt8](repeating: 0, count: 64))
        #expect(duplicate.description == "test.gguf: tensor 'w': appears twice in the tensor infos")
        let cut = try error(Array(oneTensor().prefix(24 + 41)))
        #expect(cut.kind == .truncated)
    }

    @Test func tensorOffsetsMustBeAlignedAndInsideTheFile() throws {
        let misaligned = try error(oneTensor(offset: 4, dataBytes: 64))
        #expect(misaligned.kind == .offsets)
        #expect(misaligned.description == "test.gguf: tensor 'w': offset 4 is not a multiple of the alignment 32")
        let pastEnd = try error(oneTensor(dims: [16], dataBytes: 32))
        #expect(pastEnd.description.hasPrefix("test.gguf: tensor 'w': data at offset 0 of the data section (64 bytes) runs past the end of the file"))
        let farOffset = try error(oneTensor(offset: UInt64(Int.max) - 31, dataBytes: 16))
        #expect(farOffset.description.contains("runs past the end of the file"))
        let noDataSection = try error(ggufBytes(tensors: 1, keyValues: 0, body: ggufTensorInfo("w", dims: [0], type: 0, offset: 0)))
        #expect(noDataSection.description.contains("the data section would start at byte 64, past the end of the file (57 bytes)"))
    }

    @Test func overlappingTensors() throws {
        let bytes = padded(ggufBytes(tensors: 2, keyValues: 0,
            body: ggufTensorInfo("a", dims: [16], type: 0, offset: 0) + ggufTensorInfo("b", dims: [8], type: 0, offset: 32))) + [UInt8](repeating: 0, count: 64)
        let error = try self.error(bytes)
        #expect(error.kind == .overlap)
        #expect(error.description == "test.gguf: tensor 'b': its bytes overlap those of tensor 'a'")
    }
}
