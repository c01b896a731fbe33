/// GGUF's Q8_0 and Q4_0 block formats: quantizing f32 rows (to write GGUF files of test models)
/// and dequantizing blocks (to copy small tensors out and to check kernels against).
/// A block holds 32 consecutive values of one row and starts with its f16 scale `d`.
package enum BlockQuantization {
    package static let blockLength = 32

    // MARK: Q8_0: d (f16), then 32 int8 q; value = d * q.

    /// Quantizes `values` (a multiple of 32 long) as ggml's reference does: d = max|x| / 127,
    /// q = round(x / d), ties away from zero. (Non-finite values become 0; ggml's are undefined.)
    package static func q8_0(_ values: [Float]) -> [UInt8] {
        precondition(values.count % blockLength == 0, "Q8_0 needs whole blocks of 32 values")
        var out: [UInt8] = []
        out.reserveCapacity(values.count / blockLength * 34)
        for block in stride(from: 0, to: values.count, by: blockLength) {
            let chunk = values[block..<block + blockLength]
            let absMax = chunk.reduce(0) { max($0, abs($1)) }
            let d = absMax / 127
            let inverse: Float = d == 0 ? 0 : 1 / d
            appendLittleEndian(HalfPrecision.f16Bits(d), to: &out)
            for x in chunk {
                let q = (x * inverse).rounded()
                out.append(UInt8(bitPattern: q.isFinite ? Int8(max(-127, min(127, q))) : 0))
            }
        }
        return out
    }

    /// Dequantizes `blocks` Q8_0 blocks starting at `source` into `destination`.
    package static func dequantizeQ8_0(_ source: UnsafeRawPointer, blocks: Int, into destination: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 34
            let d = HalfPrecision.float(fromF16: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            for j in 0..<blockLength {
                let q = Int8(bitPattern: block.load(fromByteOffset: 2 + j, as: UInt8.self))
                destination[b * blockLength + j] = d * Float(q)
            }
        }
    }

    // MARK: Q4_0: d (f16), then 16 bytes; element j < 16 is the low nibble of byte j,
    // element j >= 16 the high nibble of byte j - 16; value = d * (nibble - 8).

    /// Quantizes `values` (a multiple of 32 long) as ggml's reference does: `m` is the value of
    /// largest magnitude, d = m / -8, nibble = min(15, trunc(x / d + 8.5)).
    package static func q4_0(_ values: [Float]) -> [UInt8] {
        precondition(values.count % blockLength == 0, "Q4_0 needs whole blocks of 32 values")
        var out: [UInt8] = []
        out.reserveCapacity(values.count / blockLength * 18)
        for block in stride(from: 0, to: values.count, by: blockLength) {
            let chunk = Array(values[block..<block + blockLength])
            var extreme: Float = 0
            for x in chunk where abs(x) > abs(extreme) { extreme = x }
            let d = extreme / -8
            let inverse: Float = d == 0 ? 0 : 1 / d
            appendLittleEndian(HalfPrecision.f16Bits(d), to: &out)
            func nibble(_ x: Float) -> UInt8 {
                let shifted = (x * inverse + 8.5).rounded(.towardZero)
                return shifted.isFinite ? UInt8(max(0, min(15, shifted))) : 8
            }
            for j in 0..<16 { out.append(nibble(chunk[j]) | nibble(chunk[j + 16]) << 4) }
        }
        return out
    }

    /// Dequantizes `blocks` Q4_0 blocks starting at `source` into `destination`.
    package static func dequantizeQ4_0(_ source: UnsafeRawPointer, blocks: Int, into destination: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let block = source + b * 18
            let d = HalfPrecision.float(fromF16: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            for j in 0..<16 {
                let byte = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                destination[b * blockLength + j] = d * Float(Int(byte & 0x0F) - 8)
                destination[b * blockLength + j + 16] = d * Float(Int(byte >> 4) - 8)
            }
        }
    }
}

func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}
