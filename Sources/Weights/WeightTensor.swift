/// One tensor of a loaded weight file: a view into the file's bytes (nothing is copied at load).
/// `shape` is row-major, outermost first, in every format (GGUF's innermost-first dims are
/// reversed when read). The tensor holds its file's bytes alive.
package struct WeightTensor: Sendable {
    /// The full name as stored ("transformer.layers.0.self_attn.in_proj_weight").
    package let name: String
    package let dtype: TensorDType
    /// Row-major shape; `[]` for a scalar.
    package let shape: [Int]
    /// Where the data starts, counted from the start of the file.
    package let fileOffset: Int
    /// The data's length in bytes (`elementCount` elements of `dtype`).
    package let byteCount: Int
    /// The file the tensor is in; keeps `data` valid.
    package let source: any ByteSource

    init(name: String, dtype: TensorDType, shape: [Int], fileOffset: Int, byteCount: Int, source: any ByteSource) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.fileOffset = fileOffset
        self.byteCount = byteCount
        self.source = source
    }

    /// The first byte of the data, inside the file's mapping. Not necessarily aligned to the
    /// element size (safetensors does not promise it); read with `loadUnaligned`.
    package var data: UnsafeRawPointer { source.bytes.baseAddress! + fileOffset }

    /// The data as a buffer of `byteCount` bytes.
    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: data, count: byteCount) }

    /// The number of elements (parameters): the product of the shape.
    package var elementCount: Int { shape.reduce(1, *) }

    /// Copies the tensor out as f32: f32, f16 and bf16 are converted exactly, Q8_0 and Q4_0
    /// are dequantized. Meant for small tensors (norm scales, biases, codebooks in tests); large
    /// matrices are used in place through `WeightStore.matrix`.
    package func floats() throws(WeightFileError) -> [Float] {
        let count = elementCount
        let base = data
        if count == 0, dtype.isFloat || dtype.isQuantized { return [] }
        switch dtype {
        case .f32:
            return (0..<count).map { Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        case .f16:
            return (0..<count).map { HalfPrecision.float(fromF16: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .bf16:
            return (0..<count).map { HalfPrecision.float(fromBF16: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .q8_0:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                BlockQuantization.dequantizeQ8_0(base, blocks: count / 32, into: buffer.baseAddress!)
                initialized = count
            }
        case .q4_0:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                BlockQuantization.dequantizeQ4_0(base, blocks: count / 32, into: buffer.baseAddress!)
                initialized = count
            }
        case .i8, .u8, .i32, .i64, .u32:
            throw WeightFileError(.mismatch, file: source.name, tensor: name,
                "has dtype \(dtype), which is not a float type (floats() takes F32, F16, BF16, Q8_0, Q4_0)")
        }
    }

    /// Copies an integer tensor out as `Int` values (I8, U8, I32, I64, U32).
    package func integers() throws(WeightFileError) -> [Int] {
        let base = data
        switch dtype {
        case .i8: return (0..<elementCount).map { Int(base.load(fromByteOffset: $0, as: Int8.self)) }
        case .u8: return (0..<elementCount).map { Int(base.load(fromByteOffset: $0, as: UInt8.self)) }
        case .i32: return (0..<elementCount).map { Int(Int32(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
        case .u32: return (0..<elementCount).map { Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        case .i64: return (0..<elementCount).map { Int(Int64(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
        case .f32, .f16, .bf16, .q8_0, .q4_0:
            throw WeightFileError(.mismatch, file: source.name, tensor: name,
                "has dtype \(dtype), which is not an integer type")
        }
    }
}
