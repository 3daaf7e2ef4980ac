import Foundation
import Models
import Tensors

/// A model that `vacekit validate` can run on a reference dump: it reads the dump's inputs, runs with
/// the tap, and returns the final output (compared with the dump's tensor named by `signature(of:)`).
public protocol ValidationTarget {
    /// What the target reads from `dump` and the dump's name for the final output (`noise_pred`, `latent`,
    /// `video` or `context`); a VAE tells encode from decode by the dump.
    func signature(of dump: ReferenceDump) throws -> ValidationSignature
    func run(_ dump: ReferenceDump, tap: @escaping Tap) throws -> Tensor
}

/// The input names a target reads (others in the dump are the output or points) and the output's name.
public struct ValidationSignature: Equatable {
    public var inputs: Set<String>
    public var output: String
    public init(inputs: Set<String>, output: String) { (self.inputs, self.output) = (inputs, output) }
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
        .wanVAE,
        .ltxVAE,
        .textEncoder,
    ]

    public static func make(family: String, component: String, weights: any WeightProvider, backend: any Backend,
                            residency: WeightResidency = .resident) throws -> any ValidationTarget {
        guard let entry = entries.first(where: { $0.matches(family, component) }) else {
            throw ValidateError("a \(family) \(component): validate runs \(entries.map(\.name).joined(separator: ", ")) so far")
        }
        return try entry.make(weights, backend, residency)
    }
}
