import Foundation
import Tensors

/// The Wan2.1 diffusion transformer (T2V) with the optional VACE context branch (spec §3, §4.4).
///
///     latents ─ patchify ─ patch_embedding ─ x0 ─┬─ block 0 ─(+ s·hint 0)─ block 1 ─ … ─ head ─ unpatchify ─▶ velocity
///     t ─ sinusoid ─ time_embedding ─ e ─ time_projection ─ e0 (6 modulation rows per block)
///     text ─ text_embedding ─ ctx (projected to keys/values by every block's cross-attention)
///     vace context ─ vace_patch_embedding ─ (+ before_proj, x0) ─ VACE block k ─ after_proj ─ hint k
///
/// Hint k is added after main block `vaceLayers[k]`. The context chain reads the main stream only
/// through x0, so VACE block k runs just before its main block and only one hint is alive at a time.
public final class WanTransformer {
    public let config: WanTransformerConfig
    let backend: any Backend
    let patchEmbedding, patchBias: Tensor
    let textIn, textInBias, textOut, textOutBias: Tensor
    let timeIn, timeInBias, timeOut, timeOutBias: Tensor
    let timeProjection, timeProjectionBias: Tensor
    let headModulation, head, headBias: Tensor
    let blocks: [BlockWeights<WanBlock>]
    let vace: WanVACE?
    public let residency: WeightResidency

    /// - Parameter residency: keep every block's weights on the backend, or stream them per block.
    public init(weights: any WeightProvider, backend: any Backend, residency: WeightResidency = .resident) throws {
        config = try weights.config(WanTransformerConfig.self)
        self.backend = backend
        self.residency = residency
        func w(_ name: String) throws -> Tensor { try weights.load(name, on: backend) }
        let c = config
        patchEmbedding = try backend.reshape(try w("patch_embedding.weight"), [c.dim, c.inDim * 4])  // conv (1,2,2) as a linear
        patchBias = try w("patch_embedding.bias")
        (textIn, textInBias, textOut, textOutBias) = (try w("text_embedding.0.weight"), try w("text_embedding.0.bias"),
                                                      try w("text_embedding.2.weight"), try w("text_embedding.2.bias"))
        (timeIn, timeInBias, timeOut, timeOutBias) = (try w("time_embedding.0.weight"), try w("time_embedding.0.bias"),
                                                      try w("time_embedding.2.weight"), try w("time_embedding.2.bias"))
        (timeProjection, timeProjectionBias) = (try w("time_projection.1.weight"), try w("time_projection.1.bias"))
        (headModulation, head, headBias) = (try w("head.modulation"), try w("head.head.weight"), try w("head.head.bias"))
        blocks = try (0 ..< c.numLayers).map { layer in
            try BlockWeights(residency, from: weights, prefixes: ["blocks.\(layer)."], check: layer == 0) { try WanBlock("blocks.\(layer)", weights, backend) }
        }
        vace = c.isVACE ? try WanVACE(config: c, weights: weights, backend: backend, residency: residency) : nil
    }

    /// What stays the same across the sampling steps of one run, computed once by `prepare`: the
    /// text through `text_embedding`, the RoPE tables of the latent grid, and the patch-embedded VACE
    /// context (only `before_proj(·) + x0` depends on the step). Each block still projects the text to
    /// its cross-attention keys and values per call, as the original does: kept, they would hold 190 MB
    /// per batch row for the 1.3B model (30 blocks × 2 × 512 × 1536 floats) to save ≈ 4% of a step,
    /// and this runtime's targets are memory first.
    public struct Prepared {
        public let batch, frames, height, width: Int
        let context: Tensor                       // [B, text_len, D]
        let rope: (cos: Tensor, sin: Tensor)      // [N, head_dim/2] each
        let vaceTokens: Tensor?                   // [B, N, D]
        let vaceScales: [Float]
    }

    /// Checks the inputs of a run and computes its constant part.
    /// - latentShape `[B, 16, F, H, W]`, text `[B, L, text_dim]` (zero-padded here to `text_len`),
    ///   vaceContext `[B, 96, F, H, W]` (required for VACE models), vaceScales one value or one per VACE layer.
    public func prepare(latentShape: Shape, text: Tensor, vaceContext: Tensor? = nil, vaceScales: [Float] = []) throws -> Prepared {
        let b = backend, c = config
        guard latentShape.rank == 5, latentShape[1] == c.inDim, latentShape[3] % 2 == 0, latentShape[4] % 2 == 0 else {
            throw TensorError("WanTransformer", "latents \(latentShape): expected [B, \(c.inDim), F, H, W] with even H and W")
        }
        let (batch, frames, height, width) = (latentShape[0], latentShape[2], latentShape[3] / 2, latentShape[4] / 2)
        guard text.shape.rank == 3, text.shape[0] == batch, text.shape[2] == c.textDim, text.shape[1] <= c.textLen else {
            throw TensorError("WanTransformer", "text \(text.shape): expected [\(batch), ≤\(c.textLen), \(c.textDim)]")
        }
        // Text: zero rows up to text_len (attended to, like the reference), then the MLP.
        var padded = text
        if text.shape[1] < c.textLen { padded = try b.pad(text, axis: 1, before: 0, after: c.textLen - text.shape[1], mode: .zeros) }
        let context = try b.linear(try b.unary(.geluTanh, try b.linear(padded, textIn, bias: textInBias)), textOut, bias: textOutBias)

        let tables = WanRoPE.tables(frames: frames, height: height, width: width, headDim: c.headDim)
        let tokens = frames * height * width
        let rope = (cos: try b.tensor(tables.cos, [tokens, c.headDim / 2]), sin: try b.tensor(tables.sin, [tokens, c.headDim / 2]))

        var vaceTokens: Tensor?, scales: [Float] = []
        if let vace {
            guard let vaceContext else { throw TensorError("WanTransformer", "this is a VACE model: vace_context is required") }
            (vaceTokens, scales) = try vace.embed(vaceContext, batch: batch, tokens: tokens, scales: vaceScales)
        } else if vaceContext != nil {
            throw TensorError("WanTransformer", "vace_context given, but this is not a VACE model")
        }
        return Prepared(batch: batch, frames: frames, height: height, width: width, context: context, rope: rope,
                        vaceTokens: vaceTokens, vaceScales: scales)
    }

    /// One transformer call on a prepared run.
    /// - latents `[B, 16, F, H, W]` of the prepared shape, timesteps `[B]` (0…1000 scale).
    /// - Returns the velocity `[B, 16, F, H, W]`.
    public func step(_ run: Prepared, latents: Tensor, timesteps: [Double], tap: Tap? = nil) throws -> Tensor {
        let b = backend, c = config
        let expected = [run.batch, c.inDim, run.frames, run.height * 2, run.width * 2]
        guard latents.shape.dims == expected else {
            throw TensorError("WanTransformer", "latents \(latents.shape): the run was prepared for \(expected)")
        }
        guard timesteps.count == run.batch else { throw TensorError("WanTransformer", "\(timesteps.count) timesteps for batch \(run.batch)") }

        // Time: sinusoid (f64, cos first) → MLP → e [B, 1, D]; e0 [B, 6, D].
        let sinusoids = try b.tensor(timesteps.flatMap { Sinusoid.embedding($0, dim: c.freqDim) }, [run.batch, c.freqDim])
        var e = try b.linear(try b.unary(.silu, try b.linear(sinusoids, timeIn, bias: timeInBias)), timeOut, bias: timeOutBias)
        try tap?("time_embedding", e)  // [B, D], as Wan2.1 model.py WanModel.forward's e (diffusers: temb)
        let e0 = try b.reshape(try b.linear(try b.unary(.silu, e), timeProjection, bias: timeProjectionBias), [run.batch, 6, c.dim])
        e = try b.reshape(e, [run.batch, 1, c.dim])
        try tap?("text_embedding", run.context)

        let x0 = try b.linear(try Patchify.tokens(latents, on: b), patchEmbedding, bias: patchBias)  // [B, N, D]
        try tap?("patch_embedding", x0)
        var hints: WanVACE.Stream?
        if let vace, let tokens = run.vaceTokens { hints = try vace.start(tokens, x0: x0, scales: run.vaceScales) }
        var x = x0
        for (layer, block) in blocks.enumerated() {
            if let vace, var stream = hints, let k = c.vaceLayers.firstIndex(of: layer) {
                let hint = try vace.hint(k, &stream, e0: e0, text: run.context, rope: run.rope)
                try tap?("vace_blocks.\(k)", hint)
                hints = stream
                x = try block.use { try $0(x, e0: e0, text: run.context, rope: run.rope, heads: c.numHeads, eps: c.eps, on: b) }
                x = try b.gatedResidual(x, hint, gate: try b.tensor([stream.scales[k]], [1]))
            } else {
                x = try block.use { try $0(x, e0: e0, text: run.context, rope: run.rope, heads: c.numHeads, eps: c.eps, on: b) }
            }
            try tap?("blocks.\(layer)", x)
        }

        // Head: modulation from e (not e0): shift, scale.
        let mh = try b.binary(.add, headModulation, e)  // [B, 2, D]
        let h = try b.modulatedLayerNorm(x, scale: try b.slice(mh, axis: 1, 1 ..< 2), shift: try b.slice(mh, axis: 1, 0 ..< 1), eps: c.eps)
        let y = try b.linear(h, head, bias: headBias)  // [B, N, 4·out]
        try tap?("head", y)
        return try Patchify.video(y, frames: run.frames, height: run.height, width: run.width, channels: c.outDim, on: b)
    }

    /// One transformer call: `prepare` then `step` (a sampler calls `prepare` once and `step` per step).
    /// - latents `[B, 16, F, H, W]`, timesteps `[B]` (0…1000 scale), text `[B, L, text_dim]`,
    ///   vaceContext `[B, 96, F, H, W]` (required for VACE models), vaceScales one per VACE layer.
    /// - Returns the velocity `[B, 16, F, H, W]`.
    public func callAsFunction(latents: Tensor, timesteps: [Double], text: Tensor, vaceContext: Tensor? = nil,
                               vaceScales: [Float] = [], tap: Tap? = nil) throws -> Tensor {
        let run = try prepare(latentShape: latents.shape, text: text, vaceContext: vaceContext, vaceScales: vaceScales)
        return try step(run, latents: latents, timesteps: timesteps, tap: tap)
    }
}
