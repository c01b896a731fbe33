/// Fails if two tensors with data share a byte of the file; names both. Sorting makes it
/// O(n log n), so a thousand-tensor checkpoint costs nothing.
func checkNoOverlap(_ tensors: [WeightTensor], file: String) throws(WeightFileError) {
    let ordered = tensors.filter { $0.byteCount > 0 }.sorted { $0.fileOffset < $1.fileOffset }
    var furthest: WeightTensor?
    for tensor in ordered {
        if let furthest, tensor.fileOffset < furthest.fileOffset + furthest.byteCount {
            throw WeightFileError(.overlap, file: file, tensor: tensor.name,
                "its bytes overlap those of tensor '\(furthest.name)'")
        }
        furthest = tensor
    }
}
