import Foundation
import Tensors

/// The T5-family text encoder: umT5-XXL for Wan2.1 (wan/modules/t5.py `T5Encoder`, shared_pos=False)
/// and T5-v1.1-XXL for LTX-Video (transformers `T5EncoderModel`), in one model.
///
///     ids ─ token_embedding ─ x ─ block 0 ─ … ─ block N−1 ─ rms(norm) ─ × mask ─▶ context
///     position buckets(j − i) ─ table (per block for umT5, block 0's for T5) ─ bias [1, H, L, L]
///
/// The embedding rows are read from the weights on the host (a prompt needs L of its 256k rows), so
/// streamed, only one block's matrices are ever resident. q8 matrices always meet 16-bit activations:
/// T5's activations have outlier channels that int8 rounding per row clips (LLM.int8(), Dettmers et al.
/// 2022), and the encoder runs once per video, so W8A8's speed buys little here.
public final class T5Encoder {
    public let config: T5EncoderConfig
    public let residency: WeightResidency
    let backend: any Backend
    let weights: any WeightProvider
    let finalNorm: Tensor
    let blocks: [BlockWeights<T5Block>]
    /// Relative-position tables `[buckets, H]` on the host: one per block, or only block 0's (shared).
    let tables: [[Float]]

    public init(weights stored: any WeightProvider, backend: any Backend, residency: WeightResidency = .resident) throws {
        let weights = SixteenBitActivations(stored)
        let c = try weights.config(T5EncoderConfig.self)
        config = c
        self.backend = backend
        self.weights = weights
        self.residency = residency
        let embedding = try weights.weightData("token_embedding.weight")
        guard embedding.shape.dims == [c.vocab, c.dim] else {
            throw TensorError("T5Encoder", "token_embedding.weight \(embedding.shape), config says [\(c.vocab), \(c.dim)]")
        }
        finalNorm = try weights.load("norm.weight", on: backend)
        tables = try (0 ..< (c.sharedPos ? 1 : c.numLayers)).map { layer in
            let name = "blocks.\(layer).pos_embedding.embedding.weight"
            let table = try weights.weightData(name)
            guard table.shape.dims == [c.numBuckets, c.numHeads] else {
                throw TensorError("T5Encoder", "\(name) \(table.shape), expected [\(c.numBuckets), \(c.numHeads)]")
            }
            return try HostRows.floats(table, rows: 0 ..< c.numBuckets)
        }
        blocks = try (0 ..< c.numLayers).map { layer in
            try BlockWeights(residency, from: weights, prefixes: ["blocks.\(layer)."], check: layer == 0) { try T5Block("blocks.\(layer)", weights, backend) }
        }
    }

    /// Encodes token ids.
    /// - ids `[B·L]` row-major (B prompts of L tokens each), mask `[B·L]` (1 = token, 0 = padding).
    /// - Returns the context `[B, L, dim]`, with the rows where the mask is 0 set to zero (what Wan's
    ///   pipeline does by cutting each context to its length and the DiT by padding it with zeros).
    public func callAsFunction(ids: [Int32], mask: [Float], batch: Int = 1, tap: Tap? = nil) throws -> Tensor {
        let b = backend, c = config
        guard batch > 0, ids.count % batch == 0, mask.count == ids.count else {
            throw TensorError("T5Encoder", "\(ids.count) ids and \(mask.count) mask values for a batch of \(batch)")
        }
        let n = ids.count / batch
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= c.vocab }) {
            throw TensorError("T5Encoder", "token id \(bad) is outside the embedding table of \(c.vocab) rows")
        }
        // Embedding rows on the host, then the pages of the table go back (streamed).
        let rows = try HostRows.gather(try weights.weightData("token_embedding.weight"), ids: ids)
        if residency == .streamed { weights.evict(prefix: "token_embedding.") }
        var x = try b.tensor(rows, [batch, n, c.dim])  // [B, L, D]
        let keyMask = try b.tensor(mask, [batch, n])  // [B, L]

        let buckets = T5RelativePosition.buckets(tokens: n, numBuckets: c.numBuckets, maxDistance: c.maxDistance)
        var shared: Tensor?
        for (layer, block) in blocks.enumerated() {
            let bias: Tensor  // [1, H, L, L]
            if c.sharedPos, let shared {
                bias = shared
            } else {
                bias = try b.tensor(T5RelativePosition.bias(table: tables[c.sharedPos ? 0 : layer], heads: c.numHeads, buckets: buckets, tokens: n),
                                    [1, c.numHeads, n, n])
                if c.sharedPos { shared = bias }
            }
            x = try block.use { try $0(x, mask: keyMask, bias: bias, heads: c.numHeads, eps: c.eps, on: b) }
            if let tap { try tap("blocks.\(layer)", x) }
        }
        x = try b.rmsNorm(x, weight: finalNorm, eps: c.eps)
        return try b.binary(.mul, x, try b.reshape(keyMask, [batch, n, 1]))
    }
}
