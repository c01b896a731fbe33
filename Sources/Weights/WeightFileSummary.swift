/// What `moshi inspect` shows of a weight file: its format and metadata, every tensor (name,
/// dtype, shape, bytes) and the totals, as aligned text or as JSON.
package struct WeightFileSummary: Sendable, Equatable {
    package struct Tensor: Sendable, Equatable {
        package let name: String
        package let dtype: String
        package let shape: [Int]
        package let bytes: Int
        package let parameters: Int
    }

    package struct Field: Sendable, Equatable {
        package let key: String
        /// Shortened for display (long strings cut, arrays abbreviated).
        package let value: String
    }

    package let file: String
    /// "safetensors", "GGUF v3".
    package let format: String
    /// Format facts such as GGUF's alignment and where the data starts.
    package let details: [Field]
    /// safetensors `__metadata__` (sorted by key) or GGUF key-values (in file order).
    package let metadata: [Field]
    package let tensors: [Tensor]

    package var totalBytes: Int { tensors.reduce(0) { $0 + $1.bytes } }
    /// Stored elements; for MLX packed weights, a U32 word counts as one.
    package var totalParameters: Int { tensors.reduce(0) { $0 + $1.parameters } }

    package init(_ store: any WeightStore) {
        file = store.sourceDescription
        tensors = store.tensors.map {
            Tensor(name: $0.name, dtype: $0.dtype.description, shape: $0.shape, bytes: $0.byteCount, parameters: $0.elementCount)
        }
        if let gguf = store as? GGUFFile {
            format = "GGUF v\(gguf.version)"
            details = [Field(key: "alignment", value: "\(gguf.alignment)"),
                       Field(key: "data offset", value: Self.grouped(gguf.dataOffset))]
            metadata = gguf.metadata.map { Field(key: $0.key, value: $0.value.summary()) }
        } else if let safetensors = store as? SafetensorsFile {
            format = "safetensors"
            details = [Field(key: "data offset", value: Self.grouped(safetensors.dataOffset))]
            metadata = safetensors.metadata.sorted { $0.key < $1.key }.map { Field(key: $0.key, value: shortened($0.value)) }
        } else {
            format = "weight files"
            details = []
            metadata = []
        }
    }

    /// Opens the file at `path` (safetensors or GGUF) and summarizes it.
    package static func load(path: String) throws(WeightFileError) -> WeightFileSummary {
        WeightFileSummary(try WeightFiles.open(path: path))
    }

    /// `1234567` as "1,234,567".
    package static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// The totals line: "3 tensors, 1,800 bytes, 450 parameters".
    package var totalsLine: String {
        "\(Self.grouped(tensors.count)) tensor\(tensors.count == 1 ? "" : "s"), "
            + "\(Self.grouped(totalBytes)) bytes, \(Self.grouped(totalParameters)) parameters"
    }

    /// The listing for people: header lines, metadata, one aligned row per tensor, totals.
    package func text() -> String {
        var lines = ["file: \(file)", "format: \(format)"]
        lines += details.map { "\($0.key): \($0.value)" }
        if !metadata.isEmpty {
            lines.append("metadata (\(metadata.count)):")
            lines += metadata.map { "  \($0.key) = \($0.value)" }
        }
        let rows = tensors.map { [$0.name, $0.dtype, describe(shape: $0.shape), Self.grouped($0.bytes)] }
        let header = ["name", "dtype", "shape", "bytes"]
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ row: [String]) -> String {
            let left = (0..<3).map { row[$0].padding(to: widths[$0]) }.joined(separator: "  ")
            return "  " + left + "  " + String(repeating: " ", count: widths[3] - row[3].count) + row[3]
        }
        lines.append("tensors:")
        lines.append(line(header))
        lines += rows.map(line)
        lines.append("total: " + totalsLine)
        return lines.joined(separator: "\n") + "\n"
    }

    /// The same as one JSON object, for scripts.
    package func json() -> String {
        func object(_ fields: [Field]) -> String {
            "{" + fields.map { jsonQuoted($0.key) + ": " + jsonQuoted($0.value) }.joined(separator: ", ") + "}"
        }
        let tensorLines = tensors.map {
            "    {\"name\": \(jsonQuoted($0.name)), \"dtype\": \(jsonQuoted($0.dtype)), \"shape\": [\($0.shape.map(String.init).joined(separator: ", "))], \"bytes\": \($0.bytes), \"parameters\": \($0.parameters)}"
        }
        var out = "{\n"
        out += "  \"file\": \(jsonQuoted(file)),\n"
        out += "  \"format\": \(jsonQuoted(format)),\n"
        out += "  \"details\": \(object(details)),\n"
        out += "  \"metadata\": \(object(metadata)),\n"
        out += "  \"tensors\": [\n" + tensorLines.joined(separator: ",\n") + (tensorLines.isEmpty ? "" : "\n") + "  ],\n"
        out += "  \"tensor_count\": \(tensors.count),\n"
        out += "  \"total_bytes\": \(totalBytes),\n"
        out += "  \"total_parameters\": \(totalParameters)\n"
        return out + "}\n"
    }
}

extension String {
    /// The string padded with spaces to `width` characters (never cut).
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// A metadata string cut to 200 characters for display.
private func shortened(_ value: String) -> String {
    value.count <= 200 ? value : String(value.prefix(200)) + "..."
}
