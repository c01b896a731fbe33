/// The parameters of MLX affine quantization (`mx.quantize`): a linear's `NAME.weight` is
/// stored as U32 words `[out, in * bits / 32]` with `NAME.scales` and `NAME.biases`
/// `[out, in / groupSize]`. Published Moshi MLX checkpoints use 8 bits in groups of 64 and
/// 4 bits in groups of 32; an MLX `config.json` may say which in its `quantization` object.
package struct MLXQuantization: Sendable, Hashable, CustomStringConvertible {
    /// What `WeightFormat.mlxAffine` (and so the kernels) support.
    package static let supportedBits = [4, 8]
    package static let supportedGroupSizes = [32, 64, 128]
    /// The group sizes tried when only the shapes are known. 128 is left out: 4-bit groups of
    /// 128 pack a row exactly as 8-bit groups of 64 (the published q8) do, so it is taken only
    /// from a config or an expected column count.
    static let inferredGroupSizes = [32, 64]

    package let bits: Int
    package let groupSize: Int

    package init(bits: Int, groupSize: Int) {
        self.bits = bits
        self.groupSize = groupSize
    }

    package var description: String { "\(bits)-bit groups of \(groupSize)" }

    var isSupported: Bool {
        Self.supportedBits.contains(bits) && Self.supportedGroupSizes.contains(groupSize)
    }

    /// Reads the `quantization` (or `quantization_config`) object, `{"group_size": 64, "bits": 8}`,
    /// of an MLX `config.json`; nil if the config has none.
    package static func fromConfig(path: String) throws(WeightFileError) -> MLXQuantization? {
        let file = try MappedFile(path: path)
        return try fromConfig(json: file.bytes, file: path)
    }

    /// As `fromConfig(path:)`, for JSON text in memory.
    package static func fromConfig(json text: UnsafeRawBufferPointer, file: String) throws(WeightFileError) -> MLXQuantization? {
        let root: JSONValue
        do { root = try JSONValue.parse(text) } catch {
            throw WeightFileError(.format, file: file, "config JSON \(error.description)")
        }
        guard let members = root.object else { throw WeightFileError(.format, file: file, "config JSON: the top level must be an object") }
        return try fromConfig(members, file: file)
    }

    /// As `fromConfig(path:)`, for a config already parsed (`file` names it in errors).
    package static func fromConfig(_ config: [String: JSONValue], file: String) throws(WeightFileError) -> MLXQuantization? {
        for key in ["quantization", "quantization_config"] {
            guard let object = config[key]?.object else { continue }
            guard let bits = object["bits"]?.integer, let groupSize = object["group_size"]?.integer else {
                throw WeightFileError(.format, file: file, "config JSON: \(key) needs integer \"bits\" and \"group_size\"")
            }
            let found = MLXQuantization(bits: bits, groupSize: groupSize)
            guard found.isSupported else {
                throw WeightFileError(.format, file: file, "config JSON: quantization \(found) is not supported (bits 4 or 8, group size 32, 64 or 128)")
            }
            return found
        }
        return nil
    }

    /// Works out the quantization of one packed matrix and its logical column count from the
    /// word count per row `packedColumns` and the group count per row `groups`, using what the
    /// caller knows: the config's quantization and/or the model's expected column count. With
    /// neither, the shapes alone decide, which fails only when two supported settings fit
    /// (4-bit groups of 64 and 8-bit groups of 32 pack a row identically).
    static func resolve(tensor: String, file: String, packedColumns: Int, groups: Int,
                        expectedColumns: Int?, configured: MLXQuantization?) throws(WeightFileError) -> (MLXQuantization, columns: Int) {
        let shapes = "\(tensor).weight has \(packedColumns) words a row and .scales \(groups) groups a row"
        func fail(_ message: String) -> WeightFileError {
            WeightFileError(.mismatch, file: file, tensor: tensor + ".weight", message)
        }
        func columns(of q: MLXQuantization) -> Int? {
            let (bits, overflow) = packedColumns.multipliedReportingOverflow(by: 32)
            guard !overflow, bits % q.bits == 0, bits / q.bits == groups &* q.groupSize else { return nil }
            return bits / q.bits
        }
        if let configured {
            guard configured.isSupported else {
                throw fail("MLX quantization \(configured) is not supported (bits 4 or 8, group size 32, 64 or 128)")
            }
            guard let cols = columns(of: configured) else {
                throw fail("the configured quantization (\(configured)) does not fit: \(shapes)")
            }
            if let expectedColumns, expectedColumns != cols {
                throw fail("expected \(expectedColumns) columns but \(configured) packing gives \(cols)")
            }
            return (configured, cols)
        }
        if let expectedColumns {
            guard expectedColumns > 0, groups > 0, expectedColumns % groups == 0,
                  (packedColumns &* 32) % expectedColumns == 0 else {
                throw fail("\(shapes), which does not pack \(expectedColumns) columns")
            }
            let q = MLXQuantization(bits: packedColumns * 32 / expectedColumns, groupSize: expectedColumns / groups)
            guard q.isSupported else {
                throw fail("\(shapes): for \(expectedColumns) columns that is \(q), which is not supported (bits 4 or 8, group size 32, 64 or 128)")
            }
            return (q, expectedColumns)
        }
        let fits = Self.supportedBits.flatMap { bits in
            Self.inferredGroupSizes.map { MLXQuantization(bits: bits, groupSize: $0) }
        }.filter { columns(of: $0) != nil }
        switch fits.count {
        case 1: return (fits[0], columns(of: fits[0])!)
        case 0: throw fail("\(shapes), which fits no quantization inferable from shapes (bits 4 or 8, group size 32 or 64); give the quantization from config.json or the expected shape")
        default:
            throw fail("\(shapes), which fits both \(fits.map(\.description).joined(separator: " and ")); give the quantization from config.json or the expected shape")
        }
    }
}
