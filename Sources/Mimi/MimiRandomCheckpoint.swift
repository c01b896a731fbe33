import Glibc
import MoshiNumerics
import Weights

/// A Mimi checkpoint of random weights with exactly the official names and shapes
/// (`MimiCheckpointLayout`), built in memory as a safetensors image: for benchmarks and load
/// tests when no real file is at hand. Weights are uniform in `±sqrt(3 / fanIn)` (unit gain),
/// biases in ±0.1, norms 1 / 0, layer scales 0.01, codebook usage 1, so activations stay in a
/// normal float range; the codes mean nothing.
package enum MimiRandomCheckpoint {
    /// The checkpoint for `config` (all `totalCodebooks` codebooks), deterministic in `seed`.
    package static func make(config: MimiConfig, seed: UInt64 = 0) throws(WeightFileError) -> SafetensorsFile {
        let tensors = MimiCheckpointLayout.tensors(for: config)
        var header = "{"
        var offset = 0
        for (i, t) in tensors.enumerated() {
            let bytes = t.shape.reduce(1, *) * 4
            header += (i == 0 ? "" : ",") + "\"\(t.name)\":{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
            offset += bytes
        }
        header += "}"
        while (header.utf8.count + 8) % 64 != 0 { header += " " }
        let headerBytes = Array(header.utf8)
        let image = OwnedBytes(count: 8 + headerBytes.count + offset, name: "<random Mimi weights, seed \(seed)>")
        let base = image.mutableBytes
        base.storeBytes(of: UInt64(headerBytes.count).littleEndian, as: UInt64.self)
        headerBytes.withUnsafeBytes { (base + 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }

        var random = Xoshiro256StarStar(seed: seed)
        var data = (base + 8 + headerBytes.count).assumingMemoryBound(to: Float.self)
        for t in tensors {
            let count = t.shape.reduce(1, *)
            func uniform(_ bound: Float) {
                for i in 0..<count { data[i] = Float(random.nextUnitDouble() * 2 - 1) * bound }
            }
            switch t.role {
            case .weight(let fanIn): uniform((3 / Float(fanIn)).squareRoot())
            case .bias: uniform(0.1)
            case .normWeight, .clusterUsage, .initialized: data.update(repeating: 1, count: count)
            case .normBias: data.update(repeating: 0, count: count)
            case .layerScale: data.update(repeating: 0.01, count: count)
            case .embeddingSum: uniform(1)
            }
            data += count
        }
        return try SafetensorsFile(source: image)
    }
}

/// A zeroed, 64-byte-aligned heap allocation that a weight file can be parsed from in place.
final class OwnedBytes: ByteSource, @unchecked Sendable {
    let name: String
    let bytes: UnsafeRawBufferPointer
    let mutableBytes: UnsafeMutableRawPointer

    init(count: Int, name: String) {
        self.name = name
        mutableBytes = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        mutableBytes.initializeMemory(as: UInt8.self, repeating: 0, count: count)
        bytes = UnsafeRawBufferPointer(start: mutableBytes, count: count)
    }

    deinit { mutableBytes.deallocate() }
}
