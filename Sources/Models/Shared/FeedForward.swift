import Tensors

/// The transformer blocks' feed-forward, `out(gelu_tanh(in(h)))` (Wan2.1 `WanAttentionBlock.ffn`, LTX-Video
/// `FeedForward`), over groups of token rows when the hidden activations of all rows would be large: the
/// hidden layer is 4–6 × the model width, so at 81 frames of 480×832 (32,760 tokens, 8,960 wide) it alone would
/// be 1.2 GB, twice over while the GELU runs. Every op is per row, so the groups give the same rows.
struct FeedForward {
    let inWeight, inBias, outWeight, outBias: Tensor

    /// Hidden activations per group of rows: 64 M floats (256 MB).
    static let hiddenFloatsPerGroup = 64 << 20

    /// h `[B, N, D]` → `[B, N, D]`; `rowsPerGroup` overrides the group size (tests).
    func callAsFunction(_ h: Tensor, rowsPerGroup: Int? = nil, on b: any Backend) throws -> Tensor {
        let (batch, rows, hidden) = (h.shape[0], h.shape[1], inWeight.shape[0])
        let group = rowsPerGroup ?? max(1, Self.hiddenFloatsPerGroup / max(1, batch * hidden))
        func run(_ x: Tensor) throws -> Tensor {
            try b.linear(try b.unary(.geluTanh, try b.linear(x, inWeight, bias: inBias)), outWeight, bias: outBias)
        }
        guard rows > group else { return try run(h) }
        let parts = try stride(from: 0, to: rows, by: group).map { start in
            try run(try b.slice(h, axis: 1, start ..< min(start + group, rows)))
        }
        return try b.concat(parts, axis: 1)
    }
}
