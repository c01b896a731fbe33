/// A ggml tensor type as stored in a GGUF tensor info (`ggml_type`), with the name of every
/// type ggml has defined, so an unsupported tensor is rejected by name ("Q4_K (12)").
package struct GGMLType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }

    package static let f32 = GGMLType(rawValue: 0)
    package static let f16 = GGMLType(rawValue: 1)
    package static let q4_0 = GGMLType(rawValue: 2)
    package static let q8_0 = GGMLType(rawValue: 8)
    package static let bf16 = GGMLType(rawValue: 30)

    /// ggml's names, indexed by value; nil where a value was never assigned.
    static let names: [UInt32: String] = [
        0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 4: "Q4_2", 5: "Q4_3", 6: "Q5_0", 7: "Q5_1",
        8: "Q8_0", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K",
        15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL",
        21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64",
        28: "F64", 29: "IQ1_M", 30: "BF16", 31: "Q4_0_4_4", 32: "Q4_0_4_8", 33: "Q4_0_8_8",
        34: "TQ1_0", 35: "TQ2_0", 36: "IQ4_NL_4_4", 37: "IQ4_NL_4_8", 38: "IQ4_NL_8_8",
        39: "MXFP4", 40: "NVFP4", 41: "Q1_0",
    ]

    /// The types this reader maps onto `TensorDType`, in the order error messages list them.
    package static let supported: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0]

    /// ggml's name for the type ("Q4_K"), or "unknown" for a value ggml never assigned.
    package var name: String { Self.names[rawValue] ?? "unknown" }

    /// "Q4_K (12)".
    package var description: String { "\(name) (\(rawValue))" }

    /// The storage type of a supported type; nil for the others.
    package var dtype: TensorDType? {
        switch rawValue {
        case 0: .f32
        case 1: .f16
        case 2: .q4_0
        case 8: .q8_0
        case 30: .bf16
        default: nil
        }
    }

    /// The GGUF type of a storage type, for the writer; nil for types GGUF cannot hold here.
    package init?(_ dtype: TensorDType) {
        switch dtype {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .q8_0: self = .q8_0
        case .q4_0: self = .q4_0
        default: return nil
        }
    }
}
