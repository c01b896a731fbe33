#if canImport(Glibc)
import Glibc
#endif

/// Weights made in memory rather than read from a file: tensors of any stored type (GGUF
/// blocks and MLX words included) in one anonymous mapping, each 64-byte aligned, filled by
/// the caller. For benchmarks and the synthetic model: random weights in the real shapes and
/// formats cost exactly what real ones do, with no file to download or write. The mapping is
/// reserved lazily by the kernel, so a 15 GB model takes memory only as it is filled.
package final class SyntheticWeightStore: WeightStore, @unchecked Sendable {
    /// One tensor to create.
    package struct Spec: Sendable {
        package let name: String
        package let dtype: TensorDType
        package let shape: [Int]
        package init(name: String, dtype: TensorDType, shape: [Int]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }
    }

    package let tensors: [WeightTensor]
    package let mlxQuantization: MLXQuantization?
    package let sourceDescription: String
    private let index: [String: Int]
    private let region: AnonymousRegion

    /// Lays out `specs` and calls `fill(tensor, bytes)` for each (in parallel when `concurrently`
    /// is given: it runs `count` tasks and returns when all are done).
    package init(specs: [Spec], name: String, mlxQuantization: MLXQuantization? = nil,
                concurrently: ((Int, (Int) -> Void) -> Void)? = nil,
                fill: (WeightTensor, UnsafeMutableRawBufferPointer) -> Void) throws(WeightFileError) {
        var offsets: [Int] = []
        var total = 0
        for spec in specs {
            guard let bytes = elementCount(of: spec.shape).flatMap(spec.dtype.byteCount(elements:)) else {
                throw WeightFileError(.mismatch, file: name, tensor: spec.name, "shape \(spec.shape) does not fit \(spec.dtype)")
            }
            offsets.append(total)
            total += (bytes + 63) / 64 * 64
        }
        guard let region = AnonymousRegion(count: total, name: name) else {
            throw WeightFileError(.io, file: name, tensor: "", "cannot reserve \(total) bytes of memory for synthetic weights")
        }
        self.region = region
        var made: [WeightTensor] = []
        for (spec, offset) in zip(specs, offsets) {
            let bytes = elementCount(of: spec.shape).flatMap(spec.dtype.byteCount(elements:))!
            made.append(WeightTensor(name: spec.name, dtype: spec.dtype, shape: spec.shape, fileOffset: offset, byteCount: bytes, source: region))
        }
        tensors = made
        self.mlxQuantization = mlxQuantization
        sourceDescription = name
        var index: [String: Int] = [:]
        for (i, t) in made.enumerated() { index[t.name] = i }
        self.index = index
        withoutActuallyEscaping(fill) { fill in
            let work = { (i: Int) in
                let t = made[i]
                fill(t, UnsafeMutableRawBufferPointer(start: region.base + t.fileOffset, count: t.byteCount))
            }
            if let concurrently { concurrently(made.count, work) } else { for i in made.indices { work(i) } }
        }
    }

    package func tensor(named name: String) -> WeightTensor? { index[name].map { tensors[$0] } }

    /// Bytes of tensor data (what the mapping holds once filled).
    package var byteCount: Int { region.bytes.count }
}

/// An anonymous private mapping (zero pages until written).
final class AnonymousRegion: ByteSource, @unchecked Sendable {
    let name: String
    let bytes: UnsafeRawBufferPointer
    let base: UnsafeMutableRawPointer

    init?(count: Int, name: String) {
        self.name = name
        let size = max(count, 1)
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else { return nil }
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: count)
    }

    deinit { munmap(base, max(bytes.count, 1)) }
}
