import CKernels
import Testing
@testable import MoshiNumerics

/// The dequantizer gives exactly what each format's definition says, for hand-made blocks.
@Suite struct QuantDequantizationTests {
    func dequantize(_ bytes: [UInt8], rows: Int = 1, cols: Int, format: WeightFormat,
                    scales: [UInt8]? = nil, biases: [UInt8]? = nil) throws -> [Float] {
        try bytes.withUnsafeBytes { data in
            try (scales ?? []).withUnsafeBytes { s in
                try (biases ?? []).withUnsafeBytes { b in
                    try WeightMatrix(rows: rows, cols: cols, format: format, data: data.baseAddress!,
                                     scales: scales == nil ? nil : s.baseAddress, biases: biases == nil ? nil : b.baseAddress).dequantized()
                }
            }
        }
    }

    func floats(_ range: Range<Int>, _ f: (Int) -> Float) -> [Float] { range.map(f) }
    func bytes(_ values: [UInt16]) -> [UInt8] { values.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }
    func bytes(_ values: [Float]) -> [UInt8] { values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } } }

    @Test func halfPrecisionConversions() {
        let tiny = Float(sign: .plus, exponent: -24, significand: 1)
        #expect(mk_f16_to_f32(0x3C00) == 1.0)
        #expect(mk_f16_to_f32(0xC000) == -2.0)
        #expect(mk_f16_to_f32(0x0001) == tiny)                      // smallest subnormal
        #expect(mk_f16_to_f32(0x8001) == -tiny)
        #expect(mk_f16_to_f32(0x03FF) == 1023 * tiny)               // largest subnormal
        #expect(mk_f16_to_f32(0x7C00) == .infinity)
        #expect(mk_f16_to_f32(0x7E00).isNaN)
        #expect(mk_f16_to_f32(0x7BFF) == 65504)
        #expect(mk_f32_to_f16(1.0) == 0x3C00)
        #expect(mk_f32_to_f16(65520) == 0x7C00)                    // rounds to infinity
        #expect(mk_f32_to_f16(Float(sign: .plus, exponent: -25, significand: 1)) == 0)   // tie: to even (0)
        #expect(mk_f32_to_f16(Float(sign: .plus, exponent: -25, significand: 1.5)) == 1)
        #expect(mk_bf16_to_f32(0x3F80) == 1.0)
        #expect(mk_bf16_to_f32(0xC040) == -3.0)
        #expect(mk_f32_to_bf16(1.0 + Float(sign: .plus, exponent: -8, significand: 1)) == 0x3F80)     // tie: to even
        #expect(mk_f32_to_bf16(1.0 + Float(sign: .plus, exponent: -8, significand: 1.5)) == 0x3F81)   // above the tie: up
        #expect(mk_f32_to_bf16(1.0 + Float(sign: .plus, exponent: -7, significand: 1.5)) == 0x3F82)   // 0x3F81 + tie: to even
        for bits in stride(from: UInt16(0), to: 0x7C00, by: 7) {     // every 7th finite f16 round-trips
            #expect(mk_f32_to_f16(mk_f16_to_f32(bits)) == bits)
        }
    }

    @Test func denseFormatsAreTheirValues() throws {
        #expect(try dequantize(bytes([Float(1.5), -0.25, 3e-40]), cols: 3, format: .f32) == [1.5, -0.25, 3e-40])
        #expect(try dequantize(bytes([UInt16(0x3F80), 0xC040, 0x0001]), cols: 3, format: .bf16)
                == [1, -3, Float(bitPattern: 0x0001_0000)])
        #expect(try dequantize(bytes([UInt16(0x3C00), 0x8001, 0x7BFF]), cols: 3, format: .f16)
                == [1, -Float(sign: .plus, exponent: -24, significand: 1), 65504])
    }

    @Test func q8_0BlockWithNegativeScale() throws {
        var block: [UInt8] = [0x00, 0xB8]                            // f16 -0.5
        block += (0..<32).map { UInt8(bitPattern: Int8($0 * 8 - 128)) }  // -128, -120, ..., 120
        let expected: [Float] = (0..<32).map { Float($0 * 8 - 128) * -0.5 }
        #expect(try dequantize(block, cols: 32, format: .q8_0) == expected)
    }

    @Test func q8_0BlockWithSubnormalScale() throws {
        var block: [UInt8] = [0x03, 0x00]                            // f16 subnormal 3 * 2^-24
        block += (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        let step = Float(sign: .plus, exponent: -24, significand: 1) * 3
        #expect(try dequantize(block, cols: 32, format: .q8_0) == floats(0..<32) { (i: Int) -> Float in Float(i - 16) * step })
    }

    @Test func q4_0BlockNibbleOrder() throws {
        var block: [UInt8] = [0x00, 0x3C]                            // f16 1.0
        block += (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }    // low nibble j, high nibble 15 - j
        let values = try dequantize(block, cols: 32, format: .q4_0)
        #expect(Array(values[0..<16]) == floats(0..<16) { (i: Int) -> Float in Float(i - 8) })     // low nibbles: elements 0..15
        #expect(Array(values[16..<32]) == floats(0..<16) { (i: Int) -> Float in Float(7 - i) })    // high nibbles (15 - j) - 8: elements 16..31
    }

    @Test func q4_0TwoBlocksNegativeScale() throws {
        var row: [UInt8] = [0x00, 0xC0] + [UInt8](repeating: 0xF0, count: 16)   // -2.0; low 0, high 15
        row += [0x00, 0x34] + [UInt8](repeating: 0x8F, count: 16)               // 0.25; low 15, high 8
        let values = try dequantize(row, cols: 64, format: .q4_0)
        #expect(Array(values[0..<16]) == [Float](repeating: 16, count: 16))     // (0 - 8) * -2
        #expect(Array(values[16..<32]) == [Float](repeating: -14, count: 16))   // (15 - 8) * -2
        #expect(Array(values[32..<48]) == [Float](repeating: 1.75, count: 16))  // (15 - 8) * 0.25
        #expect(Array(values[48..<64]) == [Float](repeating: 0, count: 16))
    }

    @Test func mlx4PacksLeastSignificantFirst() throws {
        // Word 0x76543210 holds values 0,1,...,7 in that order; 4 words = one group of 32.
        let word: UInt32 = 0x7654_3210
        let data = (0..<4).flatMap { _ in withUnsafeBytes(of: word.littleEndian) { Array($0) } }
        let values = try dequantize(data, cols: 32, format: .mlxAffine(bits: 4, groupSize: 32, scaleType: .bf16),
                                    scales: bytes([mk_f32_to_bf16(0.5)]), biases: bytes([mk_f32_to_bf16(-1.0)]))
        #expect(values == floats(0..<32) { (i: Int) -> Float in Float(i % 8) * 0.5 - 1.0 })
    }

    @Test func mlx8GroupsHaveTheirOwnScaleAndBias() throws {
        let data = (0..<64).map { UInt8($0 * 4 % 256) }
        let values = try dequantize(data, cols: 64, format: .mlxAffine(bits: 8, groupSize: 32, scaleType: .f16),
                                    scales: bytes([mk_f32_to_f16(0.25), mk_f32_to_f16(-2.0)]),
                                    biases: bytes([mk_f32_to_f16(0.0), mk_f32_to_f16(-3.0)]))
        #expect(Array(values[0..<32]) == floats(0..<32) { (i: Int) -> Float in Float(i * 4 % 256) * 0.25 })
        #expect(Array(values[32..<64]) == floats(32..<64) { (i: Int) -> Float in Float(i * 4 % 256) * -2.0 - 3.0 })
    }

    @Test func mlxRowsIndexTheirOwnGroups() throws {
        // Two rows of 64 (8-bit, group 32): row r, group g has scale r * 2 + g + 1, bias 0.
        let data = [UInt8](repeating: 1, count: 128)
        let values = try dequantize(data, rows: 2, cols: 64, format: .mlxAffine(bits: 8, groupSize: 32, scaleType: .f32),
                                    scales: bytes([Float(1), 2, 3, 4]), biases: bytes([Float(0), 0, 0, 0]))
        #expect(values == [1, 2, 3, 4].flatMap { [Float](repeating: $0, count: 32) })
    }

    @Test func mlxScaleTimesQIsRoundedBeforeTheBiasIsAdded() throws {
        // scale 1/3 (f32) * 3 rounds to exactly 1, so + bias -1 gives 0; a fused multiply-add would give 2^-25.
        let third = Float(1) / 3
        let data: [UInt8] = withUnsafeBytes(of: UInt32(3).littleEndian) { Array($0) } + [UInt8](repeating: 0, count: 12)
        let values = try dequantize(data, cols: 32, format: .mlxAffine(bits: 4, groupSize: 32, scaleType: .f32),
                                    scales: bytes([third]), biases: bytes([Float(-1)]))
        #expect(third * 3 == 1)
        #expect(values[0] == 0)
        #expect(values[1] == -1)
    }
}
