import Foundation

/// Where a model gets its weights and config: a .vkq file (`VKQWeights`) or, in tests, anything else.
/// Models see canonical tensor names only.
public protocol WeightProvider: Sendable {
    /// e.g. `wan2.1-vace`.
    var family: String { get }
    /// The header's `config` object as JSON.
    var configJSON: Data { get }
    func weightData(_ name: String) throws -> WeightData
    func contains(_ name: String) -> Bool
    /// The tensors whose names start with `prefix` will not be needed for a while (a streamed block
    /// that has run): a memory-mapped provider takes their pages out of the process's resident set.
    /// Only called once no tensor made from them is in use.
    func evict(prefix: String)
}

extension WeightProvider {
    /// Nothing to give back by default (weights already decoded into memory the provider owns).
    public func evict(prefix: String) {}

    /// The config decoded into a model's config type; errors name the family.
    public func config<C: Decodable>(_ type: C.Type) throws -> C {
        do {
            return try JSONDecoder().decode(C.self, from: configJSON)
        } catch {
            throw TensorError("config", "\(family): \(error)")
        }
    }

    /// A weight uploaded to `backend`.
    public func load(_ name: String, on backend: any Backend) throws -> Tensor {
        try backend.weight(weightData(name))
    }
}

/// `base` with every q8 weight marked to meet 16-bit activations (`Q8Activations.sixteenBit`).
public struct SixteenBitActivations: WeightProvider {
    public let base: any WeightProvider

    public init(_ base: any WeightProvider) { self.base = base }

    public var family: String { base.family }
    public var configJSON: Data { base.configJSON }
    public func contains(_ name: String) -> Bool { base.contains(name) }
    public func evict(prefix: String) { base.evict(prefix: prefix) }

    public func weightData(_ name: String) throws -> WeightData {
        var data = try base.weightData(name)
        data.q8Activations = .sixteenBit
        return data
    }
}
