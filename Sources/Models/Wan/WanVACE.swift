import Tensors

/// The VACE context branch of Wan2.1-VACE (spec §4.4): the 96-channel context (inactive latents,
/// reactive latents, 64 mask channels) is patch-embedded, joined to the main stream's x0 through
/// `before_proj`, and run through context blocks; each block's `after_proj` output is a hint that
/// the main stream adds, times its scale, after its layer.
final class WanVACE {
    let patchEmbedding, patchBias: Tensor
    let beforeProjection, beforeBias: Tensor
    let blocks: [BlockWeights<(block: WanBlock, after: Tensor, afterBias: Tensor)>]
    let config: WanTransformerConfig
    let backend: any Backend

    /// The context stream between hints: the current context tokens and the scale of each hint.
    struct Stream {
        var context: Tensor
        var scales: [Float]
    }

    init(config: WanTransformerConfig, weights: any WeightProvider, backend: any Backend, residency: WeightResidency) throws {
        self.config = config
        self.backend = backend
        func w(_ name: String) throws -> Tensor { try weights.load(name, on: backend) }
        let inDim = config.vaceInDim ?? 96
        patchEmbedding = try backend.reshape(try w("vace_patch_embedding.weight"), [config.dim, inDim * 4])
        patchBias = try w("vace_patch_embedding.bias")
        (beforeProjection, beforeBias) = (try w("vace_blocks.0.before_proj.weight"), try w("vace_blocks.0.before_proj.bias"))
        blocks = try config.vaceLayers.indices.map { k in
            try BlockWeights(residency, from: weights, prefixes: ["vace_blocks.\(k)."], check: k == 0) {
                (try WanBlock("vace_blocks.\(k)", weights, backend), try w("vace_blocks.\(k).after_proj.weight"), try w("vace_blocks.\(k).after_proj.bias"))
            }
        }
    }

    /// Patch-embeds the context once per run, `vace_patch_embedding(context)` `[B, N, D]`, and resolves
    /// the scales: one value for all layers, one per VACE layer, or empty (1.0).
    func embed(_ vaceContext: Tensor, batch: Int, tokens: Int, scales: [Float]) throws -> (Tensor, [Float]) {
        let b = backend, n = config.vaceLayers.count
        let expected = [batch, config.vaceInDim ?? 96]
        guard vaceContext.shape.rank == 5, Array(vaceContext.shape.dims.prefix(2)) == expected else {
            throw TensorError("WanVACE", "vace_context \(vaceContext.shape): expected [\(expected[0]), \(expected[1]), F, H, W]")
        }
        let perLayer: [Float]
        switch scales.count {
        case 0: perLayer = Array(repeating: 1, count: n)
        case 1: perLayer = Array(repeating: scales[0], count: n)
        case n: perLayer = scales
        default: throw TensorError("WanVACE", "\(scales.count) VACE scales for \(n) VACE layers (give 1 or \(n))")
        }
        guard vaceContext.shape[3] % 2 == 0, vaceContext.shape[4] % 2 == 0,
              vaceContext.shape[2] * (vaceContext.shape[3] / 2) * (vaceContext.shape[4] / 2) == tokens else {
            throw TensorError("WanVACE", "vace_context \(vaceContext.shape) does not give the latents' \(tokens) tokens: frames and size must match")
        }
        return (try b.linear(try Patchify.tokens(vaceContext, on: b), patchEmbedding, bias: patchBias), perLayer)
    }

    /// Joins the embedded context to the step's x0: `before_proj(embedded) + x0`.
    func start(_ embedded: Tensor, x0: Tensor, scales: [Float]) throws -> Stream {
        let joined = try backend.binary(.add, try backend.linear(embedded, beforeProjection, bias: beforeBias), x0)
        return Stream(context: joined, scales: scales)
    }

    /// Runs context block k and returns its hint `after_proj_k(c)`.
    func hint(_ k: Int, _ stream: inout Stream, e0: Tensor, text: Tensor, rope: (cos: Tensor, sin: Tensor)) throws -> Tensor {
        let context = stream.context
        let (next, hint) = try blocks[k].use { weights in
            let next = try weights.block(context, e0: e0, text: text, rope: rope, heads: config.numHeads, eps: config.eps, on: backend)
            return (next, try backend.linear(next, weights.after, bias: weights.afterBias))
        }
        stream.context = next
        return hint
    }
}
