/// Encodes f32 values as the bytes of a stored tensor of a given dtype (for the writers).
package enum TensorEncoding {
    /// The bytes of `values` stored as `dtype`: F32/F16/BF16 converted (round to nearest even),
    /// Q8_0/Q4_0 quantized (the count must then be a multiple of 32); nil for integer dtypes.
    package static func bytes(of values: [Float], as dtype: TensorDType) -> [UInt8]? {
        var out: [UInt8] = []
        switch dtype {
        case .f32:
            out.reserveCapacity(values.count * 4)
            for value in values { appendLittleEndian(value.bitPattern, to: &out) }
        case .f16:
            out.reserveCapacity(values.count * 2)
            for value in values { appendLittleEndian(HalfPrecision.f16Bits(value), to: &out) }
        case .bf16:
            out.reserveCapacity(values.count * 2)
            for value in values { appendLittleEndian(HalfPrecision.bf16Bits(value), to: &out) }
        case .q8_0:
            guard values.count % 32 == 0 else { return nil }
            out = BlockQuantization.q8_0(values)
        case .q4_0:
            guard values.count % 32 == 0 else { return nil }
            out = BlockQuantization.q4_0(values)
        case .i8, .u8, .i32, .i64, .u32:
            return nil
        }
        return out
    }

    /// The little-endian bytes of integer values.
    package static func bytes<T: FixedWidthInteger>(of values: [T]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for value in values { appendLittleEndian(value, to: &out) }
        return out
    }
}
