import CKernels

/// The SIMD features of the CPU we run on, read once at start-up; kernels are chosen from these.
package struct CPUFeatures: OptionSet, Sendable, CustomStringConvertible {
    package let rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }

    package static let avx2FMA = CPUFeatures(rawValue: Int32(MK_CPU_AVX2_FMA))
    package static let f16c = CPUFeatures(rawValue: Int32(MK_CPU_F16C))
    package static let avx512F = CPUFeatures(rawValue: Int32(MK_CPU_AVX512F))
    package static let avx512BW = CPUFeatures(rawValue: Int32(MK_CPU_AVX512BW))
    package static let neon = CPUFeatures(rawValue: Int32(MK_CPU_NEON))
    package static let avx512VL = CPUFeatures(rawValue: Int32(MK_CPU_AVX512VL))
    package static let avx512VNNI = CPUFeatures(rawValue: Int32(MK_CPU_AVX512VNNI))
    package static let avx512BF16 = CPUFeatures(rawValue: Int32(MK_CPU_AVX512BF16))

    /// The features of this machine's CPU.
    package static let current = CPUFeatures(rawValue: mk_cpu_features())

    package var description: String {
        var names: [String] = []
        if contains(.avx512F) { names.append("avx512f") }
        if contains(.avx512BW) { names.append("avx512bw") }
        if contains(.avx512VL) { names.append("avx512vl") }
        if contains(.avx512VNNI) { names.append("avx512vnni") }
        if contains(.avx512BF16) { names.append("avx512bf16") }
        if contains(.avx2FMA) { names.append("avx2+fma") }
        if contains(.f16c) { names.append("f16c") }
        if contains(.neon) { names.append("neon") }
        return names.isEmpty ? "scalar" : names.joined(separator: ",")
    }
}
