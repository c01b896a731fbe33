import CKernels
import Foundation
import Testing
@testable import Numerics

@Suite struct CPUFeaturesTests {
    @Test func describesTheMachine() {
        #expect(!CPUFeatures.current.description.isEmpty)
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
