import Tensors

/// One T5 encoder block (wan/modules/t5.py `T5SelfAttention`; transformers `T5Block` of a
/// T5EncoderModel), pre-norm with RMS norms (no mean, no bias):
///
///     x ─┬─ rms(norm1) ─ q,k,v ─ attention(no 1/√d, + position bias) ─ o ─(+)─┬─ rms(norm2) ─ gelu(gate)·fc1 ─ fc2 ─(+)─▶
///        └──────────────────────────────────────────────────────────────────┘└────────────────────────────────────┘
struct T5Block {
    let norm1, q, k, v, o: Tensor
    let norm2, gate, fc1, fc2: Tensor

    init(_ prefix: String, _ weights: any WeightProvider, _ backend: any Backend) throws {
        func w(_ name: String) throws -> Tensor { try weights.load("\(prefix).\(name)", on: backend) }
        (norm1, q, k, v, o) = (try w("norm1.weight"), try w("attn.q.weight"), try w("attn.k.weight"), try w("attn.v.weight"), try w("attn.o.weight"))
        (norm2, gate, fc1, fc2) = (try w("norm2.weight"), try w("ffn.gate.0.weight"), try w("ffn.fc1.weight"), try w("ffn.fc2.weight"))
    }

    /// x `[B, L, D]`, mask `[B, L]` (1 = token), bias `[1, H, L, L]` → `[B, L, D]`.
    func callAsFunction(_ x: Tensor, mask: Tensor, bias: Tensor, heads: Int, eps: Float, on b: any Backend) throws -> Tensor {
        let h = try b.rmsNorm(x, weight: norm1, eps: eps)
        let attended = try b.attention(q: try b.linear(h, q, bias: nil), k: try b.linear(h, k, bias: nil), v: try b.linear(h, v, bias: nil),
                                       heads: heads, keyMask: mask, bias: bias, scale: 1)  // [B, L, dim_attn]
        let x = try b.binary(.add, x, try b.linear(attended, o, bias: nil))
        // Gated-GELU feed-forward (T5 v1.1 "gated-gelu": gelu_new(wi_0 x) · wi_1 x → wo).
        let g = try b.rmsNorm(x, weight: norm2, eps: eps)
        let inner = try b.binary(.mul, try b.unary(.geluTanh, try b.linear(g, gate, bias: nil)), try b.linear(g, fc1, bias: nil))  // [B, L, d_ff]
        return try b.binary(.add, x, try b.linear(inner, fc2, bias: nil))
    }
}
