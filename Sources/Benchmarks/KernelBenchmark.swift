import CKernels
import MoshiNumerics
#if canImport(Glibc)
import Glibc
#endif

/// `moshi bench kernels`: the machine's memory read bandwidth, and how close each weight
/// format's matrix-vector product comes to it. A product reads every weight once, so on a
/// memory-bound machine weight bytes per second over read bandwidth is the figure of merit.
///
/// Rates are in GB/s of weight bytes (GB = 1e9 bytes; MLX counts its scales and biases too).
package enum KernelBenchmark {
    /// What to measure.
    package struct Configuration: Sendable {
        /// Threads in the pool (the calling thread included).
        package var threads: Int
        /// Weight bytes of each format's matrix (at least 256 MiB for a figure free of caches).
        package var matrixBytes: Int
        /// Bytes of the bandwidth probe's buffer (at least 1 GiB for a figure free of caches).
        package var readBytes: Int
        /// Timed runs per measurement (after one untimed warm-up); best and median reported.
        package var runs: Int
        /// Columns of every matrix (Moshi's model width).
        package var columns: Int
        /// Side of the square f32 sgemm.
        package var sgemmSize: Int

        package init(threads: Int, matrixBytes: Int = 256 << 20, readBytes: Int = 1 << 30, runs: Int = 7,
                    columns: Int = 4096, sgemmSize: Int = 1024) {
            self.threads = threads
            self.matrixBytes = matrixBytes
            self.readBytes = readBytes
            self.runs = runs
            self.columns = columns
            self.sgemmSize = sgemmSize
        }
    }

    /// One timed operation: the bytes it moves and its best and median time.
    package struct Measurement: Sendable {
        package let bytes: Int
        package let bestSeconds: Double
        package let medianSeconds: Double
        package var bestGBps: Double { Double(bytes) / bestSeconds / 1e9 }
        package var medianGBps: Double { Double(bytes) / medianSeconds / 1e9 }
    }

    /// One format's matrix-vector product.
    package struct FormatResult: Sendable {
        /// The JSON key: `f32`, `q4_0`, `mlx_q4`, ... (`_i8` appended for the int8 path).
        package let key: String
        package let format: WeightFormat
        package let precision: MatvecPrecision
        /// The kernels that ran, e.g. "avx2+fma+f16c exact".
        package let path: String
        package let rows: Int
        package let columns: Int
        package let measurement: Measurement
        /// Best weight GB/s over the best read GB/s.
        package let ratio: Double
    }

    package struct Report: Sendable {
        package let threads: Int
        package let cpu: String
        package let read: Measurement
        package let formats: [FormatResult]
        package let sgemmSize: Int
        package let sgemmGFlops: Double

        /// Exactly one JSON object: `threads`, `read_gbps`, one object per format key with
        /// `gbps` (best), `median_gbps`, `ratio` and `path`, and `sgemm_gflops`.
        package var json: String {
            var fields = ["\"threads\":\(threads)", "\"cpu\":\"\(cpu)\"", "\"read_gbps\":\(number(read.bestGBps))",
                          "\"read_median_gbps\":\(number(read.medianGBps))"]
            for f in formats {
                fields.append("\"\(f.key)\":{\"gbps\":\(number(f.measurement.bestGBps)),\"median_gbps\":\(number(f.measurement.medianGBps)),"
                              + "\"ratio\":\(number(f.ratio, digits: 3)),\"path\":\"\(f.path)\",\"rows\":\(f.rows),\"cols\":\(f.columns)}")
            }
            fields.append("\"sgemm_size\":\(sgemmSize)")
            fields.append("\"sgemm_gflops\":\(number(sgemmGFlops))")
            return "{" + fields.joined(separator: ",") + "}"
        }

        /// A text table, one row per measurement.
        package var table: String {
            var lines = ["moshi bench kernels: \(threads) thread\(threads == 1 ? "" : "s"), CPU \(cpu)", ""]
            lines.append(pad("what", 10) + pad("path", 26) + pad("matrix", 14, left: true) + pad("best GB/s", 11, left: true)
                         + pad("median", 9, left: true) + pad("of read", 9, left: true))
            lines.append(pad("read", 10) + pad("avx2 loads, \(read.bytes >> 20) MiB", 26) + pad("", 14, left: true)
                         + pad(number(read.bestGBps, digits: 1), 11, left: true) + pad(number(read.medianGBps, digits: 1), 9, left: true)
                         + pad("100%", 9, left: true))
            for f in formats {
                lines.append(pad(f.key, 10) + pad(f.path, 26) + pad("\(f.rows)x\(f.columns)", 14, left: true)
                             + pad(number(f.measurement.bestGBps, digits: 1), 11, left: true)
                             + pad(number(f.measurement.medianGBps, digits: 1), 9, left: true)
                             + pad("\(Int((f.ratio * 100).rounded()))%", 9, left: true))
            }
            lines.append("")
            lines.append("sgemm f32 \(sgemmSize)x\(sgemmSize)x\(sgemmSize) (OpenBLAS, 1 thread per piece, split over \(threads)): "
                         + "\(number(sgemmGFlops, digits: 1)) GFLOP/s")
            lines.append("GB = 1e9 bytes of weights read per second (MLX includes scales and biases); "
                         + "\"of read\" = best over the best read bandwidth.")
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// The formats measured, with their JSON keys (MLX as `mx.quantize` makes them by default:
    /// group 64, bf16 scales and biases).
    package static let formats: [(key: String, format: WeightFormat)] = [
        ("f32", .f32), ("bf16", .bf16), ("f16", .f16), ("q8_0", .q8_0), ("q4_0", .q4_0),
        ("mlx_q4", .mlxAffine(bits: 4, groupSize: 64, scaleType: .bf16)),
        ("mlx_q8", .mlxAffine(bits: 8, groupSize: 64, scaleType: .bf16)),
    ]

    /// Runs every measurement; `progress` hears what is being measured (for stderr).
    /// The read bandwidth of `bytes` of memory on `pool`'s threads (best and median of `runs`).
    package static func readBandwidth(pool: ThreadPool, bytes: Int = 1 << 30, runs: Int = 5) -> Measurement {
        let buffer = AlignedBytes(count: bytes)
        buffer.fillRandom(seed: 1, pool: pool)
        return time(bytes: bytes, runs: runs) { sink in
            sink += mk_read_bandwidth_probe(pool.handle, buffer.pointer, Int64(bytes))
        }
    }

    /// One core's compute rate for a format: GB/s of weight bytes a product processes when the
    /// matrix (`bytes`, 512 KiB by default: [rows, `columns`]) stays in this core's cache, on the
    /// calling thread. Above the per-core share of the read bandwidth, the format is memory-bound;
    /// below it, the arithmetic is the limit.
    package static func computeRate(format: WeightFormat, precision: MatvecPrecision, columns: Int = 4096,
                                   bytes: Int = 512 << 10, runs: Int = 100) throws(MatvecError) -> Measurement {
        let matrix = try BenchmarkMatrix(format: format, columns: columns, bytes: bytes, pool: ThreadPool(threads: 1))
        let x = FloatBuffer(count: columns), y = FloatBuffer(count: matrix.weights.rows)
        var rng: UInt64 = 0x1234_5678
        for i in 0..<columns { x[i] = Float(Int64(bitPattern: AlignedBytes.next(&rng)) >> 40) / Float(1 << 23) }
        let mv = try Matvec(matrix.weights, precision: precision)
        return time(bytes: matrix.weights.storageBytes, runs: runs) { sink in
            mv.run(x.pointer, into: y.pointer, pool: nil)
            sink += Double(y[0])
        }
    }

    package static func run(_ configuration: Configuration, progress: (String) -> Void = { _ in }) throws(MatvecError) -> Report {
        let c = configuration
        guard c.threads >= 1, c.runs >= 1, c.columns >= 64, c.columns % 64 == 0, c.matrixBytes >= 1, c.readBytes >= 4096,
              c.sgemmSize >= 1, c.sgemmSize <= 8192 else {
            throw MatvecError(description: "benchmark configuration out of range: \(c)")
        }
        let pool = ThreadPool(threads: c.threads)
        Matmul.configureBLAS(threads: 1)

        progress("read bandwidth: \(c.readBytes >> 20) MiB")
        let read: Measurement
        do {
            let buffer = AlignedBytes(count: c.readBytes)
            buffer.fillRandom(seed: 1, pool: pool)
            read = time(bytes: c.readBytes, runs: c.runs) { sink in
                sink += mk_read_bandwidth_probe(pool.handle, buffer.pointer, Int64(c.readBytes))
            }
        }

        var results: [FormatResult] = []
        let x = FloatBuffer(count: c.columns)
        var rng: UInt64 = 0x1234_5678
        for i in 0..<c.columns { x[i] = Float(Int64(bitPattern: AlignedBytes.next(&rng)) >> 40) / Float(1 << 23) }
        for (key, format) in formats {
            let matrix = try BenchmarkMatrix(format: format, columns: c.columns, bytes: c.matrixBytes, pool: pool)
            let y = FloatBuffer(count: matrix.weights.rows)
            let precisions: [MatvecPrecision] = mk_format_has_i8(matrix.weights.kernelMatrix.format) != 0 ? [.exact, .int8Activations] : [.exact]
            for precision in precisions {
                let k = precision == .exact ? key : key + "_i8"
                progress("\(k): [\(matrix.weights.rows), \(c.columns)], \(matrix.weights.storageBytes >> 20) MiB")
                let mv = try Matvec(matrix.weights, precision: precision)
                let m = time(bytes: matrix.weights.storageBytes, runs: c.runs) { sink in
                    mv.run(x.pointer, into: y.pointer, pool: pool)
                    sink += Double(y[0])
                }
                results.append(FormatResult(key: k, format: format, precision: precision,
                                            path: "\(KernelPath.bestAvailable) \(precision == .exact ? "exact" : "int8 x")",
                                            rows: matrix.weights.rows, columns: c.columns, measurement: m,
                                            ratio: m.bestGBps / read.bestGBps))
            }
        }

        progress("sgemm \(c.sgemmSize)^3")
        let n = c.sgemmSize
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), out = FloatBuffer(count: n * n)
        for i in 0..<(n * n) {
            a[i] = Float(i % 17) * 0.01
            b[i] = Float(i % 13) * 0.02
        }
        let gemm = time(bytes: 0, runs: max(3, c.runs / 2)) { sink in
            Matmul.sgemm(m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, transposeB: false,
                         c: out.pointer, ldc: n, pool: pool)
            sink += Double(out[0])
        }
        return Report(threads: pool.threads, cpu: CPUFeatures.current.description, read: read, formats: results,
                      sgemmSize: n, sgemmGFlops: 2 * Double(n) * Double(n) * Double(n) / gemm.bestSeconds / 1e9)
    }

    /// One warm-up, then `runs` timed calls of `body`; `body` adds something it computed to the
    /// sink so the work cannot be dropped.
    static func time(bytes: Int, runs: Int, _ body: (inout Double) -> Void) -> Measurement {
        var sink = 0.0
        body(&sink)
        var times: [Double] = []
        for _ in 0..<runs {
            let start = monotonicSeconds()
            body(&sink)
            times.append(monotonicSeconds() - start)
        }
        blackHole(sink)
        times.sort()
        return Measurement(bytes: bytes, bestSeconds: times[0], medianSeconds: times[times.count / 2])
    }

    static func monotonicSeconds() -> Double { MonotonicTime.seconds() }

    @inline(never) static func blackHole(_ value: Double) {
        if value == .infinity * 0 { print("") }       // never true (NaN == NaN is false); keeps `value` alive
    }
}

/// `value` with `digits` decimals, as JSON and tables print it (`null` if not finite).
private func number(_ value: Double, digits: Int = 2) -> String {
    guard value.isFinite, abs(value) < 1e15 else { return "null" }
    var unit = 1
    for _ in 0..<digits { unit *= 10 }
    let scaled = Int((abs(value) * Double(unit)).rounded())
    var text = "\(scaled / unit)"
    if digits > 0 {
        var fraction = "\(scaled % unit)"
        while fraction.count < digits { fraction = "0" + fraction }
        text += "." + fraction
    }
    return (value < 0 && scaled != 0 ? "-" : "") + text
}

private func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
    let space = String(repeating: " ", count: max(0, width - text.count))
    return left ? space + text : text + space
}

/// Page-aligned bytes from `posix_memalign`, freed in deinit: the benchmark's random weights.
final class AlignedBytes {
    let count: Int
    let pointer: UnsafeMutableRawPointer

    init(count: Int) {
        self.count = count
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 4096, max(count, 1)) == 0, let raw else {
            fatalError("benchmark: cannot allocate \(count) bytes")
        }
        pointer = raw
    }

    deinit { free(pointer) }

    static func next(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Random 64-bit words, each through `transform` (which keeps values in a sane range), filled
    /// in parallel (this also faults every page in before timing).
    func fillRandom(seed: UInt64, pool: ThreadPool, transform: (UInt64) -> UInt64 = { $0 }) {
        let words = count / 8
        let pieces = pool.threads * 8
        let per = (words + pieces - 1) / pieces
        let base = pointer.bindMemory(to: UInt64.self, capacity: words)
        pool.parallelFor(pieces) { piece in
            var state = seed &+ UInt64(piece) &* 0x1_0000_0001
            let end = min(words, (piece + 1) * per)
            var i = piece * per
            while i < end {
                base[i] = transform(AlignedBytes.next(&state))
                i += 1
            }
        }
        for i in (words * 8)..<count { pointer.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
    }
}

/// A random matrix of about `bytes` weight bytes in one format, with values in a sane range.
struct BenchmarkMatrix {
    let weights: WeightMatrix
    private let data: AlignedBytes
    private let scales: AlignedBytes?
    private let biases: AlignedBytes?

    init(format: WeightFormat, columns: Int, bytes: Int, pool: ThreadPool) throws(MatvecError) {
        let rowBytes = WeightMatrix(rows: 1, cols: columns, format: format, data: UnsafeRawPointer(bitPattern: 64)!).dataBytes
        let rows = max(16, (bytes / rowBytes + 15) / 16 * 16)
        data = AlignedBytes(count: rows * rowBytes)
        switch format {
        case .f32:   // ±[0.5, 1)
            data.fillRandom(seed: 2, pool: pool) { $0 & 0x807F_FFFF_807F_FFFF | 0x3F00_0000_3F00_0000 }
        case .bf16:
            data.fillRandom(seed: 3, pool: pool) { $0 & 0x807F_807F_807F_807F | 0x3F00_3F00_3F00_3F00 }
        case .f16:
            data.fillRandom(seed: 4, pool: pool) { $0 & 0x83FF_83FF_83FF_83FF | 0x3800_3800_3800_3800 }
        default:
            data.fillRandom(seed: 5, pool: pool)
        }
        if format == .q8_0 || format == .q4_0 {          // every block's f16 scale: 1/16
            let blockBytes = format == .q8_0 ? 34 : 18
            for b in 0..<(rows * columns / 32) { data.pointer.storeBytes(of: UInt16(0x2C00), toByteOffset: b * blockBytes, as: UInt16.self) }
        }
        if case .mlxAffine(_, let group, let scaleType) = format {
            let size = rows * (columns / group) * (scaleType == .f32 ? 4 : 2)
            let s = AlignedBytes(count: size), b = AlignedBytes(count: size)
            // bf16/f16 pairs in ±[2^-5, 2^-4) or so; for f32 scales the same words read as small floats.
            s.fillRandom(seed: 6, pool: pool) { $0 & 0x007F_007F_007F_007F | 0x3D00_3D00_3D00_3D00 }
            b.fillRandom(seed: 7, pool: pool) { $0 & 0x807F_807F_807F_807F | 0x3E00_3E00_3E00_3E00 }
            scales = s
            biases = b
        } else {
            scales = nil
            biases = nil
        }
        weights = WeightMatrix(rows: rows, cols: columns, format: format, data: data.pointer,
                               scales: scales.map { UnsafeRawPointer($0.pointer) }, biases: biases.map { UnsafeRawPointer($0.pointer) })
        try weights.validate()
    }
}
