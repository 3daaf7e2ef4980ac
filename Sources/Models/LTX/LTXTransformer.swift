import Foundation
import Tensors

/// The LTX-Video 0.9.x 2B diffusion transformer with the optional VACE-LTX context branch (spec §3, §4;
/// LTX-Video 0.9.1 `Transformer3DModel.forward`, VACE `VaceTransformer3DModel.forward`).
///
///     latents ─ tokens (n = f·H·W + h·W + w) ─ patchify_proj ─ x0 ─ block 0 ─(+ s·hint)─ … ─ block L−1 ─ head ─▶ velocity
///     t ─ sinusoid (cos first) ─ timestep_embedder ─ emb ─ adaln_single.linear ─ modulation (6 rows per block)
///     captions ─ caption_projection ─ text (cross-attention keys/values; mask = real tokens)
///     head: LayerNorm (no affine) · (1 + scale) + shift, with [shift, scale] = scale_shift_table + emb
///
/// A sampler calls `prepare` once per run (caption projection, caption mask, RoPE tables, VACE context
/// embedding: all constant over the steps) and `step` once per step. `callAsFunction` does both.
public final class LTXTransformer {
    public let config: LTXTransformerConfig
    public let residency: WeightResidency
    let backend: any Backend
    let patchify, patchifyBias: Tensor
    let timeIn, timeInBias, timeOut, timeOutBias: Tensor
    let modulation, modulationBias: Tensor
    let captionIn, captionInBias, captionOut, captionOutBias: Tensor
    let headTable, head, headBias: Tensor
    let blocks: [BlockWeights<LTXBlock>]
    let vace: LTXVACE?
    /// Adds each hint before its main block instead of after it: a wrong model that the sensitivity
    /// tests must tell apart from the reference (never set outside them).
    var hintsBeforeBlocks = false

    /// Per-row STG (spec §7.4): in each of `layers`, the self-attention of the batch rows in `rows` is
    /// skipped (`stg_a`); in VACE models the context block of a listed layer is skipped the same way.
    public struct AttentionSkip: Sendable {
        public var layers: Set<Int>
        public var rows: Set<Int>
        public init(layers: Set<Int>, rows: Set<Int>) {
            self.layers = layers
            self.rows = rows
        }
    }

    /// What stays constant across the steps of one run.
    public struct Prepared {
        public let batch: Int
        public let grid: (frames: Int, height: Int, width: Int)
        let text: Tensor      // [B, L, D]
        let textMask: Tensor  // [B, L]
        let rope: (cos: Tensor, sin: Tensor)  // [N, D/2]
        let vaceContext: Tensor?  // [B, N, D], patchify_context_proj of the context tokens
        let vaceScale: Float
    }

    public init(weights: any WeightProvider, backend: any Backend, residency: WeightResidency = .resident) throws {
        config = try weights.config(LTXTransformerConfig.self)
        self.backend = backend
        self.residency = residency
        let c = config
        guard !c.causalTemporalPositioning else {
            throw TensorError("LTXTransformer", "\(weights.family): causal_temporal_positioning (LTX-Video 0.9.5+) is not supported; 0.9, 0.9.1 and VACE-LTX-Video-0.9 are")
        }
        func w(_ name: String) throws -> Tensor { try weights.load(name, on: backend) }
        (patchify, patchifyBias) = (try w("patchify_proj.weight"), try w("patchify_proj.bias"))
        (timeIn, timeInBias) = (try w("adaln_single.emb.timestep_embedder.linear_1.weight"), try w("adaln_single.emb.timestep_embedder.linear_1.bias"))
        (timeOut, timeOutBias) = (try w("adaln_single.emb.timestep_embedder.linear_2.weight"), try w("adaln_single.emb.timestep_embedder.linear_2.bias"))
        (modulation, modulationBias) = (try w("adaln_single.linear.weight"), try w("adaln_single.linear.bias"))
        (captionIn, captionInBias) = (try w("caption_projection.linear_1.weight"), try w("caption_projection.linear_1.bias"))
        (captionOut, captionOutBias) = (try w("caption_projection.linear_2.weight"), try w("caption_projection.linear_2.bias"))
        (headTable, head, headBias) = (try w("scale_shift_table"), try w("proj_out.weight"), try w("proj_out.bias"))
        blocks = try (0 ..< c.numLayers).map { layer in
            try BlockWeights(residency, from: weights, prefixes: ["transformer_blocks.\(layer)."], check: layer == 0) {
                try LTXBlock("transformer_blocks.\(layer)", weights, backend)
            }
        }
        vace = c.isVACE ? try LTXVACE(config: c, weights: weights, backend: backend, residency: residency) : nil
    }

    /// The constant part of a run.
    /// - Parameters:
    ///   - context: T5 features `[B, L, caption_channels]`; `contextMask` `[B, L]`, 1 = real token (incl. EOS).
    ///   - grid: the latent grid (frames incl. VACE reference frames, height, width).
    ///   - frameRate: the video's frame rate (it scales RoPE time; VACE may pass a non-integer rate).
    ///   - vaceContext: `[1 or B, 2·C + 128, F, H, W]`, required by VACE models; `vaceScale` the context scale.
    public func prepare(context: Tensor, contextMask: Tensor, grid: (frames: Int, height: Int, width: Int), frameRate: Double = 25,
                        vaceContext: Tensor? = nil, vaceScale: Float = 1, tap: Tap? = nil) throws -> Prepared {
        let b = backend, c = config
        guard context.shape.rank == 3, context.shape[2] == c.captionChannels else {
            throw TensorError("LTXTransformer", "context \(context.shape): expected [B, L, \(c.captionChannels)]")
        }
        let (batch, length) = (context.shape[0], context.shape[1])
        guard contextMask.shape.dims == [batch, length] else {
            throw TensorError("LTXTransformer", "context_mask \(contextMask.shape): expected [\(batch), \(length)] (one value per context token)")
        }
        guard frameRate.isFinite, frameRate > 0 else { throw TensorError("LTXTransformer", "frame_rate \(frameRate): expected a positive number") }
        let text = try b.linear(try b.unary(.geluTanh, try b.linear(context, captionIn, bias: captionInBias)), captionOut, bias: captionOutBias)
        try tap?("text_embedding", text)

        let tables = LTXRoPE.tables(frames: grid.frames, height: grid.height, width: grid.width, dim: c.dim, theta: c.theta,
                                    maxPositions: c.maxPositions, timeScale: LTXRoPE.timeScale(frameRate: frameRate))
        let tokens = grid.frames * grid.height * grid.width
        let rope = (cos: try b.tensor(tables.cos, [tokens, c.dim / 2]), sin: try b.tensor(tables.sin, [tokens, c.dim / 2]))

        var embedded: Tensor?
        if let vace {
            guard let vaceContext else { throw TensorError("LTXTransformer", "this is a VACE-LTX model: vace_context is required") }
            let expected = [c.vaceChannels, grid.frames, grid.height, grid.width]
            guard vaceContext.shape.rank == 5, Array(vaceContext.shape.dims.dropFirst()) == expected, [1, batch].contains(vaceContext.shape[0]) else {
                throw TensorError("LTXTransformer", "vace_context \(vaceContext.shape): expected [\(batch) or 1, \(expected.map(String.init).joined(separator: ", "))] (the latents' grid)")
            }
            var e = try vace.embed(vaceContext)
            if e.shape[0] != batch { e = try b.concat(Array(repeating: e, count: batch), axis: 0) }  // shared by the CFG/STG rows
            embedded = e
        } else if vaceContext != nil {
            throw TensorError("LTXTransformer", "vace_context given, but this LTX-Video model has no VACE context blocks")
        }
        // The reference adds (1 − mask)·(−10000) to the logits: a row without any real token shifts every
        // logit equally and attends to all tokens. As a key mask that row is all ones.
        var mask = try b.floats(contextMask)
        guard mask.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw TensorError("LTXTransformer", "context_mask must hold 0 (padding) or 1 (real token)") }
        var textMask = contextMask
        for row in 0 ..< batch where !mask[row * length ..< (row + 1) * length].contains(1) {
            mask.replaceSubrange(row * length ..< (row + 1) * length, with: repeatElement(1, count: length))
            textMask = try b.tensor(mask, contextMask.shape)
        }
        return Prepared(batch: batch, grid: grid, text: text, textMask: textMask, rope: rope, vaceContext: embedded, vaceScale: vaceScale)
    }

    /// One transformer call on prepared constants.
    /// - latents `[B, in_channels, F, H, W]` (normalised), timesteps `[B]` on the 0…1000 scale (σ·1000).
    /// - Returns the velocity `[B, out_channels, F, H, W]`.
    public func step(_ p: Prepared, latents: Tensor, timesteps: [Float], skip: AttentionSkip? = nil, tap: Tap? = nil) throws -> Tensor {
        let b = backend, c = config
        let expected = [p.batch, c.inChannels, p.grid.frames, p.grid.height, p.grid.width]
        guard latents.shape.dims == expected else {
            throw TensorError("LTXTransformer", "latents \(latents.shape): expected \(Shape(expected)) (batch of the context, grid of prepare)")
        }
        guard timesteps.count == p.batch else { throw TensorError("LTXTransformer", "\(timesteps.count) timesteps for batch \(p.batch)") }
        if let skip {
            if let bad = skip.layers.first(where: { !(0 ..< c.numLayers).contains($0) }) {
                throw TensorError("LTXTransformer", "stg_skip_layers: layer \(bad) is outside 0…\(c.numLayers - 1)")
            }
            if let bad = skip.rows.first(where: { !(0 ..< p.batch).contains($0) }) {
                throw TensorError("LTXTransformer", "STG row \(bad) is outside the batch 0…\(p.batch - 1)")
            }
        }

        // Timestep: f32 sinusoid → MLP → emb [B, D] (the head's shift/scale) → SiLU → linear → 6 rows per block.
        let sinusoids = try b.tensor(timesteps.flatMap { Self.sinusoid($0) }, [p.batch, 256])
        let emb = try b.linear(try b.unary(.silu, try b.linear(sinusoids, timeIn, bias: timeInBias)), timeOut, bias: timeOutBias)
        let mod = try b.reshape(try b.linear(try b.unary(.silu, emb), modulation, bias: modulationBias), [p.batch, 6, c.dim])
        try tap?("time_embedding", emb)

        let x0 = try b.linear(try Self.tokens(latents, on: b), patchify, bias: patchifyBias)  // [B, N, D]
        try tap?("patch_embedding", x0)
        let inputs = LTXBlock.Inputs(modulation: mod, text: p.text, textMask: p.textMask, rope: p.rope, heads: c.numHeads, eps: c.normEps)
        var context = p.vaceContext
        var x = x0
        for (layer, block) in blocks.enumerated() {
            let skipRows = skip.map { $0.layers.contains(layer) ? $0.rows : [] } ?? []
            var hint: Tensor?
            if let vace, var stream = context, c.contextLayers.contains(layer) {
                let h = try vace.hint(layer: layer, &stream, x0: x0, inputs, skipRows: skipRows)
                context = stream
                try tap?("vace_blocks.\(c.contextLayers.firstIndex(of: layer)!)", h)
                hint = h
            }
            if hintsBeforeBlocks, let hint { x = try b.gatedResidual(x, hint, gate: try b.tensor([p.vaceScale], [1])) }
            x = try block.use { try $0(x, inputs, skipRows: skipRows, on: b) }
            if !hintsBeforeBlocks, let hint { x = try b.gatedResidual(x, hint, gate: try b.tensor([p.vaceScale], [1])) }
            try tap?("blocks.\(layer)", x)
        }

        // Head: LayerNorm without affine, modulated by the table plus emb (not by the 6-row modulation).
        let table = try b.binary(.add, headTable, try b.reshape(emb, [p.batch, 1, c.dim]))  // [B, 2, D]: shift, scale
        let y = try b.modulatedLayerNorm(x, scale: try b.slice(table, axis: 1, 1 ..< 2), shift: try b.slice(table, axis: 1, 0 ..< 1), eps: 1e-6)
        let out = try b.linear(y, head, bias: headBias)  // [B, N, out]
        try tap?("head", out)
        return try Self.video(out, grid: p.grid, channels: c.outChannels, on: b)
    }

    /// `prepare` and `step` in one call (a single forward).
    public func callAsFunction(latents: Tensor, timesteps: [Float], context: Tensor, contextMask: Tensor, frameRate: Double = 25,
                               vaceContext: Tensor? = nil, vaceScale: Float = 1, skip: AttentionSkip? = nil, tap: Tap? = nil) throws -> Tensor {
        guard latents.shape.rank == 5 else { throw TensorError("LTXTransformer", "latents \(latents.shape): expected [B, \(config.inChannels), F, H, W]") }
        let grid = (frames: latents.shape[2], height: latents.shape[3], width: latents.shape[4])
        let p = try prepare(context: context, contextMask: contextMask, grid: grid, frameRate: frameRate, vaceContext: vaceContext, vaceScale: vaceScale, tap: tap)
        return try step(p, latents: latents, timesteps: timesteps, skip: skip, tap: tap)
    }

    /// The timestep sinusoid (diffusers `get_timestep_embedding`, 256 channels, cos half first,
    /// frequencies e^(−ln 10⁴·k/128)), in f32 like the reference: at t ≈ 1000 the f32 argument
    /// rounding is part of what the reference computes.
    static func sinusoid(_ t: Float, dim: Int = 256) -> [Float] {
        let half = dim / 2
        let logPeriod = Float(-Foundation.log(10000.0))
        var out = [Float](repeating: 0, count: dim)
        for k in 0 ..< half {
            let argument = t * Foundation.exp(logPeriod * Float(k) / Float(half))
            out[k] = Foundation.cos(argument)
            out[half + k] = Foundation.sin(argument)
        }
        return out
    }

    /// `[B, C, F, H, W]` → tokens `[B, F·H·W, C]` (patch size 1: a transpose).
    static func tokens(_ video: Tensor, on b: any Backend) throws -> Tensor {
        let s = video.shape
        return try b.reshape(try b.permute(video, [0, 2, 3, 4, 1]), [s[0], s[2] * s[3] * s[4], s[1]])
    }

    /// Tokens `[B, N, C]` → `[B, C, F, H, W]`.
    static func video(_ tokens: Tensor, grid: (frames: Int, height: Int, width: Int), channels: Int, on b: any Backend) throws -> Tensor {
        let split = try b.reshape(tokens, [tokens.shape[0], grid.frames, grid.height, grid.width, channels])
        return try b.permute(split, [0, 4, 1, 2, 3])
    }
}
