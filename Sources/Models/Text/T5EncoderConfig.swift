/// The config of a converted T5-family encoder (written by `vacekit convert`, Checkpoints/T5EncoderSpec).
/// umT5-XXL (Wan2.1): vocab 256384, dim 4096, 64 heads × 64, d_ff 10240, 24 layers, 32 buckets, a bias
/// table per layer (wan/modules/t5.py `umt5_xxl`, shared_pos=False). T5-v1.1-XXL (LTX-Video): vocab 32128,
/// same widths, one shared table.
public struct T5EncoderConfig: Decodable, Sendable {
    public var vocab: Int
    public var dim: Int
    public var dimAttn: Int
    public var dimFFN: Int
    public var numHeads: Int
    public var numLayers: Int
    public var numBuckets: Int
    public var maxDistance: Int
    public var eps: Float
    /// One relative-position table (block 0's) for every block (T5), or one per block (umT5).
    public var sharedPos: Bool
    /// Tokens per prompt after padding / truncation (umT5: 512, T5 for LTX: 128).
    public var textLen: Int

    enum CodingKeys: String, CodingKey {
        case vocab, dim, eps
        case dimAttn = "dim_attn", dimFFN = "dim_ffn", numHeads = "num_heads", numLayers = "num_layers"
        case numBuckets = "num_buckets", maxDistance = "max_distance", sharedPos = "shared_pos", textLen = "text_len"
    }

    public init(vocab: Int, dim: Int, dimAttn: Int, dimFFN: Int, numHeads: Int, numLayers: Int, numBuckets: Int = 32,
                maxDistance: Int = 128, eps: Float = 1e-6, sharedPos: Bool, textLen: Int) {
        (self.vocab, self.dim, self.dimAttn, self.dimFFN) = (vocab, dim, dimAttn, dimFFN)
        (self.numHeads, self.numLayers, self.numBuckets, self.maxDistance) = (numHeads, numLayers, numBuckets, maxDistance)
        (self.eps, self.sharedPos, self.textLen) = (eps, sharedPos, textLen)
    }
}
