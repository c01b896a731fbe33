/// Conversions between f32 and the two 16-bit float encodings weight files use.
/// Scalar and exact; for copying out small tensors and for writing files, not for hot loops.
package enum HalfPrecision {
    /// IEEE 754 binary16 bits to f32 (exact).
    @inlinable package static func float(fromF16 bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// bfloat16 bits to f32 (exact: bf16 is the top half of an f32).
    @inlinable package static func float(fromBF16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// f32 to binary16 bits, rounding to nearest even.
    @inlinable package static func f16Bits(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }

    /// f32 to bfloat16 bits, rounding to nearest even (NaN stays a quiet NaN), as PyTorch does.
    @inlinable package static func bf16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 | UInt16(value.bitPattern >> 16 & 0x8000) }
        let bits = value.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }
}
