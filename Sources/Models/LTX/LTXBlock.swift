import Tensors

/// One LTX-Video transformer block (spec §3.5; LTX-Video `BasicTransformerBlock.forward` with
/// `adaptive_norm = single_scale_shift`, `standardization_norm = rms_norm`, `qk_norm = rms_norm`).
/// VACE-LTX context blocks are the same block.
///
///     x ─ RMS (no weight) ─ modulate(shift₀, scale₁) ─ self-attn (q/k RMS over all D, RoPE over all D) ─ ×gate₂ ─(+)─
///       ─ cross-attn to the text (no norm, no modulation, caption mask) ──────────────────────────────────(+)─
///       ─ RMS (no weight) ─ modulate(shift₃, scale₄) ─ FFN (GELU tanh) ─ ×gate₅ ─────────────────────────(+)─▶
struct LTXBlock {
    /// q/k RMSNorm epsilon: fixed in LTX-Video's `Attention` (`RMSNorm(dim_head * heads, eps=1e-5)`),
    /// not the config's `norm_eps`.
    static let qkEps: Float = 1e-5

    struct Attention {
        let q, k, v, o: Tensor
        let qBias, kBias, vBias, oBias: Tensor
        let normQ, normK: Tensor

        init(_ prefix: String, _ weights: any WeightProvider, _ backend: any Backend) throws {
            func w(_ name: String) throws -> Tensor { try weights.load("\(prefix).\(name)", on: backend) }
            (q, k, v, o) = (try w("to_q.weight"), try w("to_k.weight"), try w("to_v.weight"), try w("to_out.0.weight"))
            (qBias, kBias, vBias, oBias) = (try w("to_q.bias"), try w("to_k.bias"), try w("to_v.bias"), try w("to_out.0.bias"))
            (normQ, normK) = (try w("q_norm.weight"), try w("k_norm.weight"))
        }

        /// bf16 operands for a model stored in bf16 or q8 (its own rounding is coarser), f32 otherwise.
        var precision: AttentionPrecision { AttentionPrecision(weights: q.dtype) }
    }

    let table: Tensor  // [6, D]: shift, scale, gate (attention), shift, scale, gate (FFN)
    let selfAttention: Attention
    let crossAttention: Attention
    let ffnIn, ffnInBias, ffnOut, ffnOutBias: Tensor

    init(_ prefix: String, _ weights: any WeightProvider, _ backend: any Backend) throws {
        func w(_ name: String) throws -> Tensor { try weights.load("\(prefix).\(name)", on: backend) }
        table = try w("scale_shift_table")
        selfAttention = try Attention("\(prefix).attn1", weights, backend)
        crossAttention = try Attention("\(prefix).attn2", weights, backend)
        (ffnIn, ffnInBias) = (try w("ff.net.0.proj.weight"), try w("ff.net.0.proj.bias"))
        (ffnOut, ffnOutBias) = (try w("ff.net.2.weight"), try w("ff.net.2.bias"))
    }

    /// What every block of one call shares.
    struct Inputs {
        let modulation: Tensor  // [B, 6, D] (adaln_single output)
        let text: Tensor        // [B, L, D] (projected captions)
        let textMask: Tensor    // [B, L], 1 = real token
        let rope: (cos: Tensor, sin: Tensor)  // [N, D/2]
        let heads: Int
        let eps: Float
    }

    /// x `[B, N, D]` → `[B, N, D]`. `skipRows`: batch rows whose self-attention is skipped the STG way
    /// (LTX-Video 0.9.1 `SkipLayerStrategy.Attention`): the attention result before `to_out` is
    /// replaced by the attention's input, the modulated normed tokens.
    func callAsFunction(_ x: Tensor, _ inputs: Inputs, skipRows: Set<Int> = [], on b: any Backend) throws -> Tensor {
        let ada = try b.binary(.add, table, inputs.modulation)  // [B, 6, D]
        func row(_ i: Int) throws -> Tensor { try b.slice(ada, axis: 1, i ..< i + 1) }  // [B, 1, D]

        // Self-attention on the modulated RMS-normed stream; RoPE after the q/k norms, over all heads.
        var h = try b.modulate(try b.rmsNorm(x, weight: nil, eps: inputs.eps), scale: row(1), shift: row(0))
        let sa = selfAttention
        var q = try b.rmsNorm(try b.linear(h, sa.q, bias: sa.qBias), weight: sa.normQ, eps: Self.qkEps)
        var k = try b.rmsNorm(try b.linear(h, sa.k, bias: sa.kBias), weight: sa.normK, eps: Self.qkEps)
        let v = try b.linear(h, sa.v, bias: sa.vBias)
        q = try b.rotary(q, cos: inputs.rope.cos, sin: inputs.rope.sin)
        k = try b.rotary(k, cos: inputs.rope.cos, sin: inputs.rope.sin)
        var attended = try b.attention(q: q, k: k, v: v, heads: inputs.heads, keyMask: nil, precision: sa.precision)  // [B, N, D]
        if !skipRows.isEmpty { attended = try Self.replacingRows(skipRows, of: attended, with: h, on: b) }
        var y = try b.linear(attended, sa.o, bias: sa.oBias)
        var x = try b.gatedResidual(x, y, gate: row(2))

        // Cross-attention from the raw stream to the captions; padded caption tokens masked out.
        let ca = crossAttention
        q = try b.rmsNorm(try b.linear(x, ca.q, bias: ca.qBias), weight: ca.normQ, eps: Self.qkEps)
        k = try b.rmsNorm(try b.linear(inputs.text, ca.k, bias: ca.kBias), weight: ca.normK, eps: Self.qkEps)
        let textValues = try b.linear(inputs.text, ca.v, bias: ca.vBias)
        y = try b.linear(try b.attention(q: q, k: k, v: textValues, heads: inputs.heads, keyMask: inputs.textMask, precision: ca.precision), ca.o, bias: ca.oBias)
        x = try b.binary(.add, x, y)

        // Feed-forward.
        h = try b.modulate(try b.rmsNorm(x, weight: nil, eps: inputs.eps), scale: row(4), shift: row(3))
        y = try FeedForward(inWeight: ffnIn, inBias: ffnInBias, outWeight: ffnOut, outBias: ffnOutBias)(h, on: b)
        return try b.gatedResidual(x, y, gate: row(5))
    }

    /// `value` with the batch rows in `rows` taken from `replacement` (same shape `[B, ...]`).
    static func replacingRows(_ rows: Set<Int>, of value: Tensor, with replacement: Tensor, on b: any Backend) throws -> Tensor {
        let batch = value.shape[0]
        if rows.isSuperset(of: 0 ..< batch) { return replacement }
        return try b.concat(try (0 ..< batch).map { r in try b.slice(rows.contains(r) ? replacement : value, axis: 0, r ..< r + 1) }, axis: 0)
    }
}
