import Weights

/// libFuzzer entry point: parses the input as a GGUF file, then uses every tensor the way a
/// model would. Any crash, sanitizer report, leak or allocation beyond libFuzzer's limit is a
/// bug; thrown `WeightFileError`s are the expected outcome for almost every input.
/// Run with `scripts/fuzz.sh FuzzGGUF SECONDS`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = InMemoryBytes(copying: data, count: size, name: "fuzz.gguf")
    guard let file = try? GGUFFile(source: bytes) else { return 0 }
    for tensor in file.tensors {
        _ = try? file.matrix(tensor.name)
        if tensor.elementCount <= 1 << 16 {
            _ = try? tensor.floats()
        }
    }
    for entry in file.metadata { _ = entry.value.summary() }
    let summary = WeightFileSummary(file)
    _ = summary.text()
    _ = summary.json()
    return 0
}
