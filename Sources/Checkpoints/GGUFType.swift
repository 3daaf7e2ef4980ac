/// The ggml tensor types this reader can turn into f32 (ids from ggml.h's `enum ggml_type`).
///
/// Quantized types store fixed-size blocks along the innermost dimension; `blockElements` and
/// `blockBytes` are ggml's `blck_size` and `type_size`.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1
    case q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8
    case q4_K = 12, q5_K = 13, q6_K = 14
    case f64 = 28, bf16 = 30

    /// The type whose `name` is `name`.
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// ggml's name (`Q4_K`, `BF16`, …), used as the tensor's dtype text.
    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .q4_K: "Q4_K"
        case .q5_K: "Q5_K"
        case .q6_K: "Q6_K"
        case .f64: "F64"
        case .bf16: "BF16"
        }
    }

    public var blockElements: Int {
        switch self {
        case .f32, .f16, .f64, .bf16: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: 32
        case .q4_K, .q5_K, .q6_K: 256
        }
    }

    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .f64: 8
        case .q4_0: 2 + 16           // d, 32 × 4-bit
        case .q4_1: 2 + 2 + 16       // d, m, 32 × 4-bit
        case .q5_0: 2 + 4 + 16       // d, high bits, 32 × low 4 bits
        case .q5_1: 2 + 2 + 4 + 16   // d, m, high bits, low bits
        case .q8_0: 2 + 32           // d, 32 × int8
        case .q4_K: 2 + 2 + 12 + 128 // d, dmin, 8 × 6-bit (scale, min), 256 × 4-bit
        case .q5_K: 2 + 2 + 12 + 32 + 128
        case .q6_K: 128 + 64 + 16 + 2 // low 4 bits, high 2 bits, 16 × int8 scales, d
        }
    }

    /// Fewer than 8 bits a weight: the values themselves already carry the quantization error, so a
    /// converted model can be no more accurate than this source (the converter warns).
    public var isLossy: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64, .q8_0: false
        case .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K: true
        }
    }

    /// The dtype for plain float types, so their decoding is shared with safetensors.
    var floatDType: SafetensorsDType? {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .f64: .f64
        default: nil
        }
    }

    /// Names of ggml types this reader does not decode, for error messages.
    static func unsupportedName(_ id: UInt32) -> String? {
        let names: [UInt32: String] = [
            9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS",
            19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16",
            26: "I32", 27: "I64", 29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
        ]
        return names[id]
    }
}
