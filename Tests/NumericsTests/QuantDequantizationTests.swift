import CKernels
import Testing
@testable import Numerics

/// The dequantizer gives exactly what each format's definition says, for hand-made blocks.
@Suite struct QuantDequantizationTests {
    func dequantize(_ bytes: [UInt8], rows: Int = 1, cols: Int, format: WeightFormat,
                    scales: [UInt16]? = nil, biases: [UInt16]? = nil) -> [Float] {
        bytes.withUnsafeBytes { data in
            let s = scales.map { v in v.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) } }
            let b = biases.map { v in v.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) } }
            return withExtendedLifetime((scales, biases)) {
                WeightMatrix(rows: rows, cols: cols, format: format, data: data.baseAddress!, scales: s, biases: b).dequantized()
            }
        }
    }

    @Test func halfPrecisionConversions() {
        #expect(mk_f16_to_f32(0x3C00) == 1.0)
        #expect(mk_f16_to_f32(0xC000) == -2.0)
        #expect(mk_f16_to_f32(0x0001) == Float(sign: .plus, exponent: -24, significand: 1))   // smallest subnormal
        #expect(mk_f16_to_f32(0x03FF) == Float(1023) * Float(sign: .plus, exponent: -24, significand: 1))
        #expect(mk_f16_to_f32(0x7C00) == .infinity)
        #expect(mk_f16_to_f32(0x7BFF) == 65504)
        #expect(mk_f32_to_f16(1.0) == 0x3C00)
        #expect(mk_f32_to_f16(65520) == 0x7C00)              // rounds to infinity
        #expect(mk_f32_to_f16(Float(sign: .plus, exponent: -25, significand: 1)) == 0)        // ties to even: 0
        #expect(mk_f32_to_f16(Float(sign: .plus, exponent: -25, significand: 1.5)) == 1)
        #expect(mk_bf16_to_f32(0x3F80) == 1.0)
        #expect(mk_f32_to_bf16(1.0 + Float(sign: .plus, exponent: -8, significand: 1)) == 0x3F80)   // tie: to even
        #expect(mk_f32_to_bf16(1.0 + Float(sign: .plus, exponent: -8, significand: 1.5)) == 0x3F81)
        for bits in stride(from: UInt16(0), to: 0x7C00, by: 7) {       // every finite f16 round-trips
            #expect(mk_f32_to_f16(mk_f16_to_f32(bits)) == bits)
        }
    }

    @Test func q8_0Block() {
        var block: [UInt8] = [0x00, 0xB8]                      // f16 -0.5
        block += (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        let values = dequantize(block, cols: 32, format: .q8_0)
        let expected: [Float] = (0..<32).map { (i: Int) -> Float in Float(i - 16) * -0.5 }
        #expect(values == expected)
    }

    @Test func q4_0BlockNibbleOrder() {
        var block: [UInt8] = [0x00, 0x3C]                      // f16 1.0
        block += (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }   // low nibble j, high nibble 15 - j
        let values = dequantize(block, cols: 32, format: .q4_0)
        let low: [Float] = (0..<16).map { (j: Int) -> Float in Float(j - 8) }       // low nibbles: elements 0..15
        let high: [Float] = (0..<16).map { (j: Int) -> Float in Float(7 - j) }      // high nibbles (15 - j) - 8: elements 16..31
        #expect(Array(values[0..<16]) == low)
        #expect(Array(values[16..<32]) == high)
    }

    @Test func mlx4PacksLeastSignificantFirst() {
        // Word 0x76543210 holds values 0,1,...,7 in that order; 4 words = one group of 32.
        let word: UInt32 = 0x7654_3210
        let bytes = (0..<4).flatMap { _ in withUnsafeBytes(of: word.littleEndian) { Array($0) } }
        let scale = mk_f32_to_bf16(0.5), bias = mk_f32_to_bf16(-1.0)
        let values = dequantize(bytes, cols: 32, format: .mlxAffine(bits: 4, groupSize: 32, scaleType: .bf16), scales: [scale], biases: [bias])
        let expected: [Float] = (0..<32).map { (i: Int) -> Float in Float(i % 8) * 0.5 - 1.0 }
        #expect(values == expected)
    }

    @Test func mlx8GroupsHaveTheirOwnScaleAndBias() {
        let bytes = (0..<64).map { UInt8($0 * 4 % 256) }
        let scales = [mk_f32_to_f16(0.25), mk_f32_to_f16(2.0)]
        let biases = [mk_f32_to_f16(0.0), mk_f32_to_f16(-3.0)]
        let values = dequantize(bytes, cols: 64, format: .mlxAffine(bits: 8, groupSize: 32, scaleType: .f16), scales: scales, biases: biases)
        let first: [Float] = (0..<32).map { (i: Int) -> Float in Float(i * 4 % 256) * 0.25 }
        let second: [Float] = (32..<64).map { (i: Int) -> Float in Float(i * 4 % 256) * 2.0 - 3.0 }
        #expect(Array(values[0..<32]) == first)
        #expect(Array(values[32..<64]) == second)
    }
}
