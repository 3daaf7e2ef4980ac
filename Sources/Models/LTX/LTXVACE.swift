import Tensors

/// The VACE-LTX-Video-0.9 context branch (spec §4.3; VACE `vace/models/ltx/models/transformers`:
/// `VaceTransformer3DModel.forward`, `BasicTransformerBypassBlock`, `BasicTransformerMainBlock`).
///
///     context tokens [inactive | reactive | mask] ─ patchify_context_proj ─ c
///     layer d in context_num_layers:  (d = 0: c = before_proj(c) + x0)  c = ContextBlock_d(c)  hint_d = after_proj_d(c)
///     main stream:                    x = MainBlock_d(x) + context_scale · hint_d     (after the WHOLE block)
///
/// The reference runs every context block before the first main block and keeps all hints; the
/// context chain reads the main stream only through x0, so the model interleaves them instead (context
/// block d, then main block d) and keeps one hint alive.
final class LTXVACE {
    let embedding, embeddingBias: Tensor
    /// Only the context block of layer 0 has `before_proj` (VACE checks `block_id == 0`).
    let beforeProjection: (weight: Tensor, bias: Tensor)?
    let blocks: [Int: BlockWeights<(block: LTXBlock, after: Tensor, afterBias: Tensor)>]
    let config: LTXTransformerConfig
    let backend: any Backend

    init(config: LTXTransformerConfig, weights: any WeightProvider, backend: any Backend, residency: WeightResidency) throws {
        self.config = config
        self.backend = backend
        func w(_ name: String) throws -> Tensor { try weights.load(name, on: backend) }
        (embedding, embeddingBias) = (try w("patchify_context_proj.weight"), try w("patchify_context_proj.bias"))
        beforeProjection = config.contextLayers.contains(0)
            ? (try w("transformer_context_blocks.0.before_proj.weight"), try w("transformer_context_blocks.0.before_proj.bias")) : nil
        var blocks: [Int: BlockWeights<(block: LTXBlock, after: Tensor, afterBias: Tensor)>] = [:]
        for layer in config.contextLayers {
            let prefix = "transformer_context_blocks.\(layer)"
            blocks[layer] = try BlockWeights(residency, from: weights, prefixes: ["\(prefix)."], check: layer == config.contextLayers.first) {
                (try LTXBlock(prefix, weights, backend), try w("\(prefix).after_proj.weight"), try w("\(prefix).after_proj.bias"))
            }
        }
        self.blocks = blocks
    }

    /// The embedded context `[Bc, N, D]` of `vaceContext` `[Bc, C_ctx, F, H, W]` (constant over a run).
    func embed(_ vaceContext: Tensor) throws -> Tensor {
        let b = backend
        guard vaceContext.shape.rank == 5, vaceContext.shape[1] == config.vaceChannels else {
            throw TensorError("LTXVACE", "vace_context \(vaceContext.shape): expected [B, \(config.vaceChannels), F, H, W]")
        }
        return try b.linear(try LTXTransformer.tokens(vaceContext, on: b), embedding, bias: embeddingBias)
    }

    /// Runs the context block of `layer` on the context stream `c` and returns its hint.
    /// `x0` is the main stream's input embedding (joined at layer 0 only).
    func hint(layer: Int, _ c: inout Tensor, x0: Tensor, _ inputs: LTXBlock.Inputs, skipRows: Set<Int>) throws -> Tensor {
        let b = backend
        guard let weights = blocks[layer] else { throw TensorError("LTXVACE", "layer \(layer) has no context block") }
        if layer == 0, let before = beforeProjection {
            c = try b.binary(.add, try b.linear(c, before.weight, bias: before.bias), x0)
        }
        let input = c
        let (next, hint) = try weights.use { w in
            let next = try w.block(input, inputs, skipRows: skipRows, on: b)
            return (next, try b.linear(next, w.after, bias: w.afterBias))
        }
        c = next
        return hint
    }
}
