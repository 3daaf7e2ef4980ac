import Foundation
import Models
import Tensors

/// A model that `vacekit validate` can run on a reference dump: it reads the dump's inputs, runs with
/// the tap, and returns the final output (compared with the dump's tensor `outputName`).
public protocol ValidationTarget {
    /// The dump's name for the final output: `noise_pred`, `latent`, `video` or `context`.
    var outputName: String { get }
    /// The input names this target reads (others in the dump are outputs or points).
    var inputNames: Set<String> { get }
    func run(_ dump: ReferenceDump, tap: @escaping Tap) throws -> Tensor
}

/// Which target runs a .vkq: one entry per family/component. A new model plugs in with one entry.
public enum ValidationTargets {
    public struct Entry: Sendable {
        public let name: String
        public let matches: @Sendable (_ family: String, _ component: String) -> Bool
        public let make: @Sendable (_ weights: any WeightProvider, _ backend: any Backend, _ residency: WeightResidency) throws -> any ValidationTarget

        public init(name: String, matches: @escaping @Sendable (String, String) -> Bool,
                    make: @escaping @Sendable (any WeightProvider, any Backend, WeightResidency) throws -> any ValidationTarget) {
            (self.name, self.matches, self.make) = (name, matches, make)
        }
    }

    public static let entries: [Entry] = [
        .wanTransformer,
        .ltxTransformer,
    ]

    public static func make(family: String, component: String, weights: any WeightProvider, backend: any Backend,
                            residency: WeightResidency = .resident) throws -> any ValidationTarget {
        guard let entry = entries.first(where: { $0.matches(family, component) }) else {
            throw ValidateError("a \(family) \(component): validate runs \(entries.map(\.name).joined(separator: ", ")) so far")
        }
        return try entry.make(weights, backend, residency)
    }
}
