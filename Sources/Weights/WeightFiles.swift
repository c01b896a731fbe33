/// Several weight files opened as one store (a model split over files, or an LM and its
/// codec side by side). Names must be unique across the files.
package final class WeightFiles: WeightStore {
    package let files: [any WeightStore]
    package let tensors: [WeightTensor]
    package let mlxQuantization: MLXQuantization?
    private let index: [String: Int]

    package init(_ files: [any WeightStore], mlxQuantization: MLXQuantization? = nil) throws(WeightFileError) {
        self.files = files
        self.mlxQuantization = mlxQuantization
        var tensors: [WeightTensor] = []
        var index: [String: Int] = [:]
        for file in files {
            for tensor in file.tensors {
                if let earlier = index[tensor.name] {
                    throw WeightFileError(.format, file: tensor.source.name, tensor: tensor.name,
                        "is also in \(tensors[earlier].source.name); tensor names must be unique across files")
                }
                index[tensor.name] = tensors.count
                tensors.append(tensor)
            }
        }
        self.tensors = tensors
        self.index = index
    }

    /// Opens each path (safetensors or GGUF, told apart by their first bytes).
    package convenience init(paths: [String], mlxQuantization: MLXQuantization? = nil) throws(WeightFileError) {
        var files: [any WeightStore] = []
        for path in paths { files.append(try Self.open(path: path)) }
        try self.init(files, mlxQuantization: mlxQuantization)
    }

    package var sourceDescription: String { files.map(\.sourceDescription).joined(separator: " + ") }

    package func tensor(named name: String) -> WeightTensor? {
        index[name].map { tensors[$0] }
    }

    /// Maps the file at `path` and opens it as GGUF if it starts with `GGUF`, else as safetensors.
    package static func open(path: String, mlxQuantization: MLXQuantization? = nil) throws(WeightFileError) -> any WeightStore {
        try open(MappedFile(path: path), mlxQuantization: mlxQuantization)
    }

    /// As `open(path:)`, for bytes already in memory.
    package static func open(_ source: any ByteSource, mlxQuantization: MLXQuantization? = nil) throws(WeightFileError) -> any WeightStore {
        if source.bytes.starts(with: "GGUF".utf8) { return try GGUFFile(source: source) }
        return try SafetensorsFile(source: source, mlxQuantization: mlxQuantization)
    }
}
