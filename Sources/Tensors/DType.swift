/// The element types a tensor can have in the runtime and in a .vkq file.
///
/// `q8` is int8 symmetric quantization with one f16 scale per `group` consecutive input elements of
/// each output row (`group == 0` means one scale for the whole row, i.e. per-channel).
public enum DType: Hashable, Sendable, CustomStringConvertible {
    case f32
    case f16
    case bf16
    case q8(group: Int)

    /// Bytes per element of the main data array (scales of q8 are stored separately).
    public var elementSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q8: 1
        }
    }

    public var isQuantized: Bool {
        if case .q8 = self { return true }
        return false
    }

    /// The name used in .vkq headers and on the command line: `f32`, `f16`, `bf16`, `q8`.
    public var name: String {
        switch self {
        case .f32: "f32"
        case .f16: "f16"
        case .bf16: "bf16"
        case .q8: "q8"
        }
    }

    public var description: String {
        if case .q8(let group) = self { return group == 0 ? "q8/row" : "q8/g\(group)" }
        return name
    }
}
