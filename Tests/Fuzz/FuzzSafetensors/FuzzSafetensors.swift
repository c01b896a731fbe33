import Weights

/// libFuzzer entry point: parses the input as a safetensors file (and as an MLX config.json),
/// then uses every tensor the way a model would. Any crash, sanitizer report, leak or
/// allocation beyond libFuzzer's limit is a bug; thrown `WeightFileError`s are the expected
/// outcome for almost every input. Run with `scripts/fuzz.sh FuzzSafetensors SECONDS`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = InMemoryBytes(copying: data, count: size, name: "fuzz.safetensors")
    if let file = try? SafetensorsFile(source: bytes) {
        exercise(file)
    }
    if let quantization = try? MLXQuantization.fromConfig(json: bytes.bytes, file: "config.json"),
       let file = try? SafetensorsFile(source: bytes, mlxQuantization: quantization) {
        exercise(file)
    }
    return 0
}

/// What the models and `moshi inspect` do with a loaded file.
func exercise(_ store: some WeightStore) {
    for tensor in store.tensors {
        _ = try? store.matrix(tensor.name)
        if tensor.shape.count == 2 {
            // As a model that expects 8 logical columns per packed U32 word (4-bit MLX) would.
            let (cols, overflow) = tensor.shape[1].multipliedReportingOverflow(by: 8)
            if !overflow { _ = try? store.matrix(tensor.name, rows: tensor.shape[0], cols: cols) }
        }
        if tensor.elementCount <= 1 << 16 {
            _ = try? tensor.floats()
            _ = try? tensor.integers()
        }
    }
    let summary = WeightFileSummary(store)
    _ = summary.text()
    _ = summary.json()
}
