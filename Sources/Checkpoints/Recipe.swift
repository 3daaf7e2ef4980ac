import Foundation
import Tensors

/// Decides the stored dtype of every tensor from its role and the user's flags.
///
/// | role        | f32 | f16 | bf16 | q8 (default) |
/// |-------------|-----|-----|------|--------------|
/// | `linear`    | f32 | f16 | bf16 | q8 group G   |
/// | `sensitive` | f32 | f16 | f16  | f16          |
/// | `small`     | f32 | f32 | f32  | f32          |
/// | `conv`      | f32 | f16 | bf16 | f16          |
///
/// A bf16 VAE is stored with bf16 convolutions: the CPU's bf16 conv3d computes with them directly (on
/// AVX512_BF16; elsewhere they are widened), as PyTorch runs a VAE cast to bfloat16.
///
/// `--keep PATTERN` (a regular expression over canonical names) stores matching tensors in f32.
public struct Recipe: Sendable, CustomStringConvertible {
    public enum Precision: String, Sendable, CaseIterable { case f32, f16, bf16, q8 }

    public var precision: Precision
    /// q8 group size: 0 (one scale per row), 32, 64 or 128.
    public var group: Int
    public var keep: [String]
    public var zstdLevel: Int32?

    public init(precision: Precision = .q8, group: Int = 0, keep: [String] = [], zstdLevel: Int32? = nil) throws {
        guard [0, 32, 64, 128].contains(group) else { throw ConvertError.badFlag("--group \(group): use 0 (per row), 32, 64 or 128") }
        for pattern in keep where (try? NSRegularExpression(pattern: pattern)) == nil {
            throw ConvertError.badFlag("--keep '\(pattern)' is not a valid regular expression")
        }
        if let level = zstdLevel, !(1 ... 22).contains(level) { throw ConvertError.badFlag("--zstd=\(level): levels are 1…22") }
        self.precision = precision
        self.group = group
        self.keep = keep
        self.zstdLevel = zstdLevel
    }

    public func dtype(for name: String, role: KeyMap.Role) -> DType {
        if keep.contains(where: { name.range(of: $0, options: .regularExpression) != nil }) { return .f32 }
        if precision == .f32 || role == .small { return .f32 }
        switch role {
        case .linear:
            switch precision {
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            case .q8: return .q8(group: group)
            }
        case .conv: return precision == .bf16 ? .bf16 : .f16
        case .sensitive: return .f16
        case .small: return .f32
        }
    }

    public var description: String {
        var parts = [precision == .q8 ? "q8 " + (group == 0 ? "per-row" : "group \(group)") : precision.rawValue]
        if let level = zstdLevel { parts.append("zstd \(level)") }
        if !keep.isEmpty { parts.append("keep f32: \(keep.joined(separator: ", "))") }
        return parts.joined(separator: ", ")
    }
}
