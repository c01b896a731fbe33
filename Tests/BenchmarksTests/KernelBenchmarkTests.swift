import Foundation
import Testing
@testable import Benchmarks
import MoshiNumerics

@Suite struct KernelBenchmarkTests {
    /// A small run: every key present once in the JSON, rates positive, the table names each path.
    @Test func smallRunReportsEveryFormat() throws {
        let configuration = KernelBenchmark.Configuration(threads: 2, matrixBytes: 256 << 10, readBytes: 8 << 20, runs: 2,
                                                          columns: 512, sgemmSize: 64)
        var messages: [String] = []
        let report = try KernelBenchmark.run(configuration) { messages.append($0) }
        let keys = ["f32", "bf16", "f16", "q8_0", "q4_0", "mlx_q4", "mlx_q8", "q8_0_i8", "q4_0_i8", "mlx_q4_i8", "mlx_q8_i8"]
        #expect(report.formats.map(\.key) == ["f32", "bf16", "f16", "q8_0", "q8_0_i8", "q4_0", "q4_0_i8", "mlx_q4", "mlx_q4_i8", "mlx_q8", "mlx_q8_i8"])
        #expect(report.threads == 2)
        #expect(report.read.bestGBps > 0 && report.read.bestGBps.isFinite)
        #expect(report.sgemmGFlops > 0 && report.sgemmGFlops.isFinite)
        for f in report.formats {
            #expect(f.measurement.bestGBps > 0 && f.measurement.bestGBps >= f.measurement.medianGBps)
            #expect(abs(f.ratio - f.measurement.bestGBps / report.read.bestGBps) < 1e-9)
            #expect(f.rows % 16 == 0 && f.rows * f.columns > 0)
            #expect(report.table.contains(f.path))
        }
        let json = report.json
        #expect(json.hasPrefix("{\"threads\":2,") && json.hasSuffix("}"))
        #expect(!json.contains("\n"))
        for key in keys { #expect(json.components(separatedBy: "\"\(key)\":{\"gbps\":").count == 2, "\(key) once") }
        #expect(json.contains("\"read_gbps\":") && json.contains("\"sgemm_gflops\":"))
        #expect(messages.count == 1 + keys.count + 1)
    }

    @Test func weightBytesCountScalesAndBiases() throws {
        let pool = ThreadPool(threads: 1)
        let m = try BenchmarkMatrix(format: .mlxAffine(bits: 4, groupSize: 64, scaleType: .bf16), columns: 512, bytes: 64 << 10, pool: pool)
        #expect(m.weights.rows == 256)                                   // 64 KiB / 256 bytes a row
        #expect(m.weights.dataBytes == 256 * 256)
        #expect(m.weights.storageBytes == 256 * 256 + 2 * 256 * 8 * 2)
        let q = try BenchmarkMatrix(format: .q4_0, columns: 512, bytes: 64 << 10, pool: pool)
        #expect(q.weights.storageBytes == q.weights.rows * 16 * 18)
        // Values are sane: the dequantized matrix is finite and not all zero.
        let w = try q.weights.dequantized()
        #expect(w.allSatisfy(\.isFinite) && w.contains { $0 != 0 })
    }

    @Test func badConfigurationsThrow() {
        #expect(throws: MatvecError.self) { try KernelBenchmark.run(.init(threads: 0)) }
        #expect(throws: MatvecError.self) { try KernelBenchmark.run(.init(threads: 1, columns: 100)) }
        #expect(throws: MatvecError.self) { try KernelBenchmark.run(.init(threads: 1, runs: 0)) }
    }
}
