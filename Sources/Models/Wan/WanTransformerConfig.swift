/// The Wan2.1 transformer config, as `vacekit convert` writes it into the .vkq header
/// (official field names; ../shared/specs/wan-vace.md §1.1).
public struct WanTransformerConfig: Decodable, Sendable {
    public var dim: Int
    public var ffnDim: Int
    public var numHeads: Int
    public var numLayers: Int
    public var inDim: Int
    public var outDim: Int
    public var textDim: Int
    public var freqDim: Int
    public var textLen: Int
    public var eps: Float
    /// Main-stream layer after which each VACE block's hint is added (empty for T2V).
    public var vaceLayers: [Int]
    public var vaceInDim: Int?

    enum CodingKeys: String, CodingKey {
        case dim, eps
        case ffnDim = "ffn_dim", numHeads = "num_heads", numLayers = "num_layers", inDim = "in_dim", outDim = "out_dim"
        case textDim = "text_dim", freqDim = "freq_dim", textLen = "text_len", vaceLayers = "vace_layers", vaceInDim = "vace_in_dim"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dim = try c.decode(Int.self, forKey: .dim)
        ffnDim = try c.decode(Int.self, forKey: .ffnDim)
        numHeads = try c.decode(Int.self, forKey: .numHeads)
        numLayers = try c.decode(Int.self, forKey: .numLayers)
        inDim = try c.decode(Int.self, forKey: .inDim)
        outDim = try c.decode(Int.self, forKey: .outDim)
        textDim = try c.decode(Int.self, forKey: .textDim)
        freqDim = try c.decode(Int.self, forKey: .freqDim)
        textLen = try c.decodeIfPresent(Int.self, forKey: .textLen) ?? 512
        eps = try c.decodeIfPresent(Float.self, forKey: .eps) ?? 1e-6
        vaceLayers = try c.decodeIfPresent([Int].self, forKey: .vaceLayers) ?? []
        vaceInDim = try c.decodeIfPresent(Int.self, forKey: .vaceInDim)
    }

    public var headDim: Int { dim / numHeads }
    public var isVACE: Bool { !vaceLayers.isEmpty }
}
