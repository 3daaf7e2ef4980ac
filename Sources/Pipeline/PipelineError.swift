/// What went wrong in a generation, said so that the user can act: the flag or input, the expected and
/// the actual value.
public enum PipelineError: Error, Equatable, CustomStringConvertible {
    /// A flag with an unusable value.
    case invalidOption(flag: String, reason: String)
    /// A task given without an input it needs (`inpaint` without `--mask`, `r2v` without `--ref`).
    case missingInput(task: String, flag: String, reason: String)
    /// Inputs that do not fit together (mask and video sizes, a VAE that does not match the transformer).
    case mismatch(String)
    /// A feature that is not built yet in this build.
    case notBuilt(String)

    public var description: String {
        switch self {
        case let .invalidOption(flag, reason): return "\(flag): \(reason)"
        case let .missingInput(task, flag, reason): return "--task \(task) needs \(flag): \(reason)"
        case let .mismatch(text): return text
        case let .notBuilt(text): return text
        }
    }
}
