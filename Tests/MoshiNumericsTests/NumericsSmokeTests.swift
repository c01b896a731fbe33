import CKernels
import Foundation
import Testing
@testable import MoshiNumerics

@Suite struct CPUFeaturesTests {
    /// The features found by cpuid/xgetbv agree with what the kernel tells /proc/cpuinfo (an
    /// independent reading: Linux lists a flag only when the OS saves its register state).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/cpuinfo")))
    func featuresMatchTheKernelsCPUFlags() throws {
        let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("flags") || $0.hasPrefix("Features") })
        let flags = Set(line.split(separator: ":").last.map { $0.split(separator: " ").map(String.init) } ?? [])
        let f = CPUFeatures.current
        #if arch(x86_64)
        #expect(f.contains(.avx2FMA) == (flags.contains("avx2") && flags.contains("fma")))
        #expect(f.contains(.f16c) == flags.contains("f16c"))
        #expect(f.contains(.avx512F) == flags.contains("avx512f"))
        #expect(f.contains(.avx512BW) == flags.contains("avx512bw"))
        #expect(f.contains(.avx512VL) == flags.contains("avx512vl"))
        #expect(f.contains(.avx512VNNI) == flags.contains("avx512_vnni"))
        #expect(f.contains(.avx512BF16) == flags.contains("avx512_bf16"))
        #elseif arch(arm64)
        #expect(f.contains(.neon) == (flags.contains("asimd") || flags.contains("neon")))
        #endif
        #expect(!f.description.isEmpty)
    }

    /// The paths follow the features (so a CPU with AVX-512 VNNI is tested on that path), and
    /// the best one is the highest unless MOSHI_KERNEL_PATH caps it.
    @Test func pathsFollowTheFeatures() {
        let f = CPUFeatures.current
        let available = KernelPath.available
        #expect(available.first == .scalar)
        #expect(available.contains(.avx2) == (f.contains(.avx2FMA) && f.contains(.f16c)))
        let avx512: CPUFeatures = [.avx2FMA, .f16c, .avx512F, .avx512BW, .avx512VL, .avx512VNNI]
        #expect(available.contains(.avx512) == f.isSuperset(of: avx512))
        if ProcessInfo.processInfo.environment["MOSHI_KERNEL_PATH"] == nil {
            #expect(KernelPath.bestAvailable == available.last)
        }
    }
}
