/// The LTX-Video 0.9.x / VACE-LTX-Video-0.9 transformer config as `vacekit convert` writes it into the
/// .vkq header: the single file's `transformer` object in LTX-Video's own ("ours") field names, with
/// the converter's discovered `context_num_layers` (always a list there) for VACE files.
public struct LTXTransformerConfig: Decodable, Sendable {
    public var numLayers: Int
    public var numHeads: Int
    public var headDim: Int
    public var inChannels: Int
    public var outChannels: Int
    public var captionChannels: Int
    public var normEps: Float
    public var theta: Float
    /// Divisors of the (t, h, w) RoPE coordinates (LTX-Video: 20, 2048, 2048).
    public var maxPositions: [Float]
    public var timestepScaleMultiplier: Float
    /// 0.9.5+ shifted time coordinate; not what 0.9 / 0.9.1 / VACE-LTX do, and refused by the model.
    public var causalTemporalPositioning: Bool
    /// Main layers that own a VACE context block (ascending; empty for plain LTX-Video).
    public var contextLayers: [Int]
    public var contextChannels: Int?

    enum CodingKeys: String, CodingKey {
        case numLayers = "num_layers", numHeads = "num_attention_heads", headDim = "attention_head_dim"
        case inChannels = "in_channels", outChannels = "out_channels", captionChannels = "caption_channels"
        case normEps = "norm_eps", theta = "positional_embedding_theta", maxPositions = "positional_embedding_max_pos"
        case timestepScaleMultiplier = "timestep_scale_multiplier", causalTemporalPositioning = "causal_temporal_positioning"
        case contextLayers = "context_num_layers", contextChannels = "in_context_channels"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        numLayers = try c.decode(Int.self, forKey: .numLayers)
        numHeads = try c.decode(Int.self, forKey: .numHeads)
        headDim = try c.decode(Int.self, forKey: .headDim)
        inChannels = try c.decode(Int.self, forKey: .inChannels)
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? inChannels
        captionChannels = try c.decode(Int.self, forKey: .captionChannels)
        normEps = try c.decodeIfPresent(Float.self, forKey: .normEps) ?? 1e-6
        theta = try c.decodeIfPresent(Float.self, forKey: .theta) ?? 10000
        maxPositions = try c.decodeIfPresent([Float].self, forKey: .maxPositions) ?? [20, 2048, 2048]
        timestepScaleMultiplier = try c.decodeIfPresent(Float.self, forKey: .timestepScaleMultiplier) ?? 1000
        causalTemporalPositioning = try c.decodeIfPresent(Bool.self, forKey: .causalTemporalPositioning) ?? false
        // A list, or a count n meaning 0…n−1 (VACE's VaceTransformer3DModel accepts both).
        if let list = try? c.decodeIfPresent([Int].self, forKey: .contextLayers) {
            contextLayers = list.sorted()
        } else {
            contextLayers = (try c.decodeIfPresent(Int.self, forKey: .contextLayers)).map { Array(0 ..< $0) } ?? []
        }
        contextChannels = try c.decodeIfPresent(Int.self, forKey: .contextChannels)
        guard maxPositions.count == 3 else {
            throw DecodingError.dataCorruptedError(forKey: .maxPositions, in: c, debugDescription: "expected 3 values (t, h, w), got \(maxPositions.count)")
        }
    }

    /// The stream width (2048 for the released 2B models).
    public var dim: Int { numHeads * headDim }
    public var isVACE: Bool { !contextLayers.isEmpty }
    /// Context channels: the header's `in_context_channels`, else VACE's default 2·C + 128.
    public var vaceChannels: Int { contextChannels ?? 2 * inChannels + 128 }
}
