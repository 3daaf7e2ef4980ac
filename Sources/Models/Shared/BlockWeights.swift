import Tensors

/// When a model's per-block weights are on the backend.
///
/// - `resident`: uploaded once when the model is built and kept (fastest; device memory holds the
///   whole model).
/// - `streamed`: uploaded just before each block runs and released right after, so the backend
///   holds one block's weights at a time (two with unified Vulkan memory, whose regions the host
///   refills only after the batch that used them has completed) (low memory: a 14B model on an 8 GB GPU). The embeddings
///   and the head stay resident. On a discrete GPU the uploads are staged copies recorded with the
///   dispatches, so the host does not wait for them.
public enum WeightResidency: String, Sendable, CaseIterable {
    case resident, streamed
}

/// One block's weights under a residency: kept, or loaded for each use and dropped after it.
/// Streamed blocks also give their pages back to the provider (`WeightProvider.evict`): a
/// memory-mapped file then stays out of the resident set except for the block running.
final class BlockWeights<Weights> {
    private let load: () throws -> Weights
    private let kept: Weights?
    private let provider: any WeightProvider
    private let prefixes: [String]

    /// Resident: loads now (so a missing tensor is reported when the model is built). Streamed:
    /// with `check`, loads once to check the tensors exist and have the right shapes, then drops
    /// them — models check their first block this way (every block has the same layout, and a
    /// converted file has every tensor of its family), so a streamed model is not uploaded twice.
    /// - Parameter prefixes: the names the block's tensors start with (e.g. `blocks.3.`).
    init(_ residency: WeightResidency, from provider: any WeightProvider, prefixes: [String], check: Bool = true,
         load: @escaping () throws -> Weights) throws {
        self.load = load
        self.provider = provider
        self.prefixes = prefixes
        kept = residency == .resident ? try load() : nil
        if residency == .streamed, check {
            _ = try load()
            evict()
        }
    }

    /// Runs `body` with the block's weights.
    func use<R>(_ body: (Weights) throws -> R) throws -> R {
        if let kept { return try body(kept) }
        defer { evict() }
        return try body(try load())
    }

    /// A resident block gives its pages back when its model is released: the provider's memory map
    /// outlives the model (the caller holds the file), and without this the next stage of a run (the
    /// VAE decode after the transformer) would still count every mapped weight page it had touched.
    deinit {
        if kept != nil { evict() }
    }

    private func evict() {
        for prefix in prefixes { provider.evict(prefix: prefix) }
    }
}
