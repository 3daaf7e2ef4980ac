import Tensors

/// One Wan2.1 transformer block (spec §3.5); main blocks and VACE context blocks are the same block.
///
///     x ─ LN ─ modulate(m0, m1) ─ self-attn (q/k RMS over all heads, 3-D RoPE) ─ ×m2 ─(+)─
///       ─ LN affine (norm3) ─ cross-attn to the text (no mask) ──────────────────────(+)─
///       ─ LN ─ modulate(m3, m4) ─ FFN (GELU tanh) ─ ×m5 ──────────────────────────────(+)─▶
struct WanBlock {
    struct Attention {
        let q, k, v, o: Tensor
        let qBias, kBias, vBias, oBias: Tensor
        let normQ, normK: Tensor

        init(_ prefix: String, _ weights: any WeightProvider, _ backend: any Backend) throws {
            func w(_ name: String) throws -> Tensor { try weights.load("\(prefix).\(name)", on: backend) }
            (q, k, v, o) = (try w("q.weight"), try w("k.weight"), try w("v.weight"), try w("o.weight"))
            (qBias, kBias, vBias, oBias) = (try w("q.bias"), try w("k.bias"), try w("v.bias"), try w("o.bias"))
            (normQ, normK) = (try w("norm_q.weight"), try w("norm_k.weight"))
        }

        /// bf16 operands for a model stored in bf16 or q8 (its own rounding is coarser), f32 otherwise.
        var precision: AttentionPrecision { AttentionPrecision(weights: q.dtype) }
    }

    let modulation: Tensor  // [1, 6, D]
    let selfAttention: Attention
    let crossAttention: Attention
    let crossNormWeight, crossNormBias: Tensor
    let ffnIn, ffnInBias, ffnOut, ffnOutBias: Tensor

    init(_ prefix: String, _ weights: any WeightProvider, _ backend: any Backend) throws {
        func w(_ name: String) throws -> Tensor { try weights.load("\(prefix).\(name)", on: backend) }
        modulation = try w("modulation")
        selfAttention = try Attention("\(prefix).self_attn", weights, backend)
        crossAttention = try Attention("\(prefix).cross_attn", weights, backend)
        (crossNormWeight, crossNormBias) = (try w("norm3.weight"), try w("norm3.bias"))
        (ffnIn, ffnInBias, ffnOut, ffnOutBias) = (try w("ffn.0.weight"), try w("ffn.0.bias"), try w("ffn.2.weight"), try w("ffn.2.bias"))
    }

    /// x `[B, N, D]`; `e0` `[B, 6, D]` (time projection); `text` `[B, L, D]`; `rope` cos/sin `[N, headDim/2]`.
    func callAsFunction(_ x: Tensor, e0: Tensor, text: Tensor, rope: (cos: Tensor, sin: Tensor), heads: Int, eps: Float,
                        on b: any Backend) throws -> Tensor {
        let m = try b.binary(.add, modulation, e0)  // [B, 6, D]: shift1, scale1, gate1, shift2, scale2, gate2
        func chunk(_ i: Int) throws -> Tensor { try b.slice(m, axis: 1, i ..< i + 1) }  // [B, 1, D]

        // Self-attention.
        var h = try b.modulatedLayerNorm(x, scale: chunk(1), shift: chunk(0), eps: eps)
        let sa = selfAttention
        var q = try b.rmsNorm(try b.linear(h, sa.q, bias: sa.qBias), weight: sa.normQ, eps: eps)
        var k = try b.rmsNorm(try b.linear(h, sa.k, bias: sa.kBias), weight: sa.normK, eps: eps)
        let v = try b.linear(h, sa.v, bias: sa.vBias)
        q = try b.rotary(q, cos: rope.cos, sin: rope.sin)
        k = try b.rotary(k, cos: rope.cos, sin: rope.sin)
        var y = try b.linear(try b.attention(q: q, k: k, v: v, heads: heads, keyMask: nil, precision: sa.precision), sa.o, bias: sa.oBias)
        var x = try b.gatedResidual(x, y, gate: chunk(2))

        // Cross-attention to the (padded) text; no modulation, no gate.
        h = try b.layerNorm(x, weight: crossNormWeight, bias: crossNormBias, eps: eps)
        let ca = crossAttention
        q = try b.rmsNorm(try b.linear(h, ca.q, bias: ca.qBias), weight: ca.normQ, eps: eps)
        k = try b.rmsNorm(try b.linear(text, ca.k, bias: ca.kBias), weight: ca.normK, eps: eps)
        let textValues = try b.linear(text, ca.v, bias: ca.vBias)
        y = try b.linear(try b.attention(q: q, k: k, v: textValues, heads: heads, keyMask: nil, precision: ca.precision), ca.o, bias: ca.oBias)
        x = try b.binary(.add, x, y)

        // Feed-forward.
        h = try b.modulatedLayerNorm(x, scale: chunk(4), shift: chunk(3), eps: eps)
        y = try FeedForward(inWeight: ffnIn, inBias: ffnInBias, outWeight: ffnOut, outBias: ffnOutBias)(h, on: b)
        return try b.gatedResidual(x, y, gate: chunk(5))
    }
}
