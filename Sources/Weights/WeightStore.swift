import MoshiNumerics

/// What the models load weights from: tensors by name, whatever the file format. A
/// `SafetensorsFile`, a `GGUFFile` or several files together (`WeightFiles`).
///
/// Views handed out (`WeightTensor.data`, `WeightMatrix`) point into the store's files: keep
/// the store alive as long as the model that uses them.
package protocol WeightStore: AnyObject, Sendable {
    /// Every tensor, in file order.
    var tensors: [WeightTensor] { get }
    func tensor(named name: String) -> WeightTensor?
    /// The MLX quantization to assume for packed U32 matrices, from the checkpoint's config.
    var mlxQuantization: MLXQuantization? { get }
    /// The file or files, for error messages.
    var sourceDescription: String { get }
}

extension WeightStore {
    package var tensorNames: [String] { tensors.map(\.name) }

    package func contains(_ name: String) -> Bool { tensor(named: name) != nil }

    /// The tensor called `name`, or an error naming it (and close names, to spot a layout mix-up).
    package func require(_ name: String) throws(WeightFileError) -> WeightTensor {
        guard let tensor = tensor(named: name) else {
            throw WeightFileError(.missingTensor, file: sourceDescription, tensor: name,
                "not found among the \(tensors.count) tensors\(similarNames(to: name))")
        }
        return tensor
    }

    /// The tensor called `name`, which must have exactly `shape`.
    package func require(_ name: String, shape: [Int]) throws(WeightFileError) -> WeightTensor {
        let tensor = try require(name)
        guard tensor.shape == shape else {
            throw WeightFileError(.mismatch, file: sourceDescription, tensor: name,
                "expected shape \(describe(shape: shape)), found \(describe(shape: tensor.shape))")
        }
        return tensor
    }

    /// The tensor called `name` copied out as f32 (see `WeightTensor.floats()`), checking its shape.
    package func floats(_ name: String, shape: [Int]) throws(WeightFileError) -> [Float] {
        try require(name, shape: shape).floats()
    }

    /// The weight matrix stored under `name`, viewed in place as a `WeightMatrix`:
    /// - F32, F16, BF16 (safetensors or GGUF): a 2-D tensor `[rows, cols]`; a tensor of higher
    ///   rank is flattened to `[shape[0], product of the rest]` (a conv kernel `[out, in, k]`
    ///   becomes `[out, in * k]`);
    /// - GGUF Q8_0 and Q4_0: rows = the product of the outer dims, cols = ne[0];
    /// - MLX: `name` is `PREFIX.weight`, stored as U32 words next to `PREFIX.scales` and
    ///   `PREFIX.biases`; bits and group size come from the store's `mlxQuantization`, else
    ///   from the shapes (see `matrix(_:rows:cols:)` for when the shapes alone cannot tell).
    package func matrix(_ name: String) throws(WeightFileError) -> WeightMatrix {
        try matrix(name, expectedColumns: nil)
    }

    /// As `matrix(_:)`, checking the logical shape `[rows, cols]` (for MLX, the unpacked
    /// shape). Knowing `cols` also settles an MLX packing the shapes alone leave open.
    package func matrix(_ name: String, rows: Int, cols: Int) throws(WeightFileError) -> WeightMatrix {
        let matrix = try matrix(name, expectedColumns: cols)
        guard matrix.rows == rows, matrix.cols == cols else {
            throw WeightFileError(.mismatch, file: sourceDescription, tensor: name,
                "expected a [\(rows), \(cols)] matrix, found [\(matrix.rows), \(matrix.cols)] (\(matrix.format))")
        }
        return matrix
    }

    private func matrix(_ name: String, expectedColumns: Int?) throws(WeightFileError) -> WeightMatrix {
        let tensor = try require(name)
        func fail(_ message: String) -> WeightFileError {
            WeightFileError(.mismatch, file: tensor.source.name, tensor: name, message)
        }
        guard tensor.shape.count >= 2 else {
            throw fail("has shape \(describe(shape: tensor.shape)), which is not a matrix")
        }
        let rows = tensor.shape[0]
        let cols = tensor.shape.dropFirst().reduce(1, *)
        switch tensor.dtype {
        case .f32: return WeightMatrix(rows: rows, cols: cols, format: .f32, data: tensor.data)
        case .f16: return WeightMatrix(rows: rows, cols: cols, format: .f16, data: tensor.data)
        case .bf16: return WeightMatrix(rows: rows, cols: cols, format: .bf16, data: tensor.data)
        case .q8_0, .q4_0:
            // Blocks run along the innermost dim, so every outer dim counts as rows.
            let inner = tensor.shape[tensor.shape.count - 1]
            let outer = tensor.shape.dropLast().reduce(1, *)
            return WeightMatrix(rows: outer, cols: inner, format: tensor.dtype == .q8_0 ? .q8_0 : .q4_0, data: tensor.data)
        case .u32:
            return try mlxMatrix(tensor, expectedColumns: expectedColumns)
        case .i8, .u8, .i32, .i64:
            throw fail("has dtype \(tensor.dtype), which is not a weight matrix type (F32, F16, BF16, Q8_0, Q4_0, or MLX U32 with scales and biases)")
        }
    }

    /// An MLX triple `PREFIX.weight` (U32) + `PREFIX.scales` + `PREFIX.biases` as one matrix.
    private func mlxMatrix(_ weight: WeightTensor, expectedColumns: Int?) throws(WeightFileError) -> WeightMatrix {
        let name = weight.name
        func fail(_ message: String) -> WeightFileError {
            WeightFileError(.mismatch, file: weight.source.name, tensor: name, message)
        }
        guard name.hasSuffix(".weight") else {
            throw fail("is U32, which is a matrix only as an MLX PREFIX.weight with PREFIX.scales and PREFIX.biases")
        }
        let prefix = String(name.dropLast(".weight".count))
        guard let scales = tensor(named: prefix + ".scales"), let biases = tensor(named: prefix + ".biases") else {
            throw fail("is U32 (MLX packed), but \(prefix).scales or \(prefix).biases is missing")
        }
        guard weight.shape.count == 2, scales.shape.count == 2 else {
            throw fail("MLX weight \(describe(shape: weight.shape)) and scales \(describe(shape: scales.shape)) must both be 2-D")
        }
        guard scales.shape == biases.shape, scales.dtype == biases.dtype else {
            throw fail("MLX scales \(scales.dtype) \(describe(shape: scales.shape)) and biases \(biases.dtype) \(describe(shape: biases.shape)) differ")
        }
        guard scales.shape[0] == weight.shape[0] else {
            throw fail("MLX weight has \(weight.shape[0]) rows but scales have \(scales.shape[0])")
        }
        let scaleType: WeightFormat.ScaleType
        switch scales.dtype {
        case .f32: scaleType = .f32
        case .f16: scaleType = .f16
        case .bf16: scaleType = .bf16
        default: throw fail("MLX scales have dtype \(scales.dtype); expected F32, F16 or BF16")
        }
        let (quantization, cols) = try MLXQuantization.resolve(
            tensor: prefix, file: weight.source.name, packedColumns: weight.shape[1], groups: scales.shape[1],
            expectedColumns: expectedColumns, configured: mlxQuantization)
        return WeightMatrix(
            rows: weight.shape[0], cols: cols,
            format: .mlxAffine(bits: quantization.bits, groupSize: quantization.groupSize, scaleType: scaleType),
            data: weight.data, scales: scales.data, biases: biases.data)
    }

    /// ", e.g. a.b.c, a.b.d": up to three stored names sharing the longest prefix with `name`.
    private func similarNames(to name: String) -> String {
        let target = Array(name.utf8)
        func common(_ other: String) -> Int {
            var count = 0
            for (a, b) in zip(target, other.utf8) {
                guard a == b else { break }
                count += 1
            }
            return count
        }
        let ranked = tensors.lazy.map { ($0.name, common($0.name)) }.filter { $0.1 > 0 }
        guard let best = ranked.map(\.1).max() else { return "" }
        let closest = ranked.filter { $0.1 == best }.prefix(3).map(\.0)
        return "; closest: " + closest.joined(separator: ", ")
    }
}
