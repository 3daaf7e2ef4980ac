import VKQ

/// The T5-family text encoders (converters/umt5-xxl.json, converters/t5-v1.1-xxl.json): umT5-XXL for
/// Wan2.1 (a relative-position bias table in every block) and T5-v1.1-XXL for LTX-Video (one table, in
/// block 0, shared). The config comes from a transformers config.json when one is given, otherwise
/// from the shapes: heads from the bias table, d_ff from the feed-forward, layers from the block count.
public struct T5EncoderSpec: FamilySpec {
    public enum Variant: String, Sendable { case umt5 = "umt5-xxl", t5 = "t5-v1.1-xxl" }
    public let variant: Variant

    public init(_ variant: Variant) { self.variant = variant }

    public var keyMapName: String { variant.rawValue }
    public func family(config: JSONValue) -> String { variant.rawValue }

    /// Token length the reference pipelines pad and truncate to: Wan's text_len 512
    /// (wan/configs/shared_config.py), LTX-Video's max_sequence_length 128 (ltx_video pipeline default).
    var textLength: Int { variant == .umt5 ? 512 : 128 }

    public func resolveConfig(configs: [JSONValue], metadata: [String: String], shapeOf: (String) -> [Int]?, names: Set<String>) throws -> JSONValue {
        let given = configs.first { $0["d_model"] != nil } ?? .object([:])
        let layers = given["num_layers"]?.intValue ?? names.filter { $0.hasPrefix("blocks.") && $0.hasSuffix(".norm1.weight") }.count
        guard let embedding = shapeOf("token_embedding.weight"), embedding.count == 2,
              let table = shapeOf("blocks.0.pos_embedding.embedding.weight"), table.count == 2,
              let q = shapeOf("blocks.0.attn.q.weight"), let fc1 = shapeOf("blocks.0.ffn.fc1.weight"), layers > 0
        else { throw ConvertError.badConfig("\(variant.rawValue): cannot tell the dimensions (needs token_embedding, blocks.0.attn.q, blocks.0.ffn.fc1 and the relative-position bias table)") }
        let heads = given["num_heads"]?.intValue ?? table[1]
        let dimAttn = given["d_kv"]?.intValue.map { $0 * heads } ?? q[0]
        if let act = given["dense_act_fn"]?.stringValue, act != "gelu_new" {
            throw ConvertError.badConfig("\(variant.rawValue): dense_act_fn '\(act)', only the gated gelu_new feed-forward of T5 v1.1 / umT5 is supported")
        }
        let fields: [String: JSONValue] = [
            "vocab": .int(embedding[0]),
            "dim": .int(given["d_model"]?.intValue ?? embedding[1]),
            "dim_attn": .int(dimAttn),
            "dim_ffn": .int(given["d_ff"]?.intValue ?? fc1[0]),
            "num_heads": .int(heads),
            "num_layers": .int(layers),
            "num_buckets": .int(given["relative_attention_num_buckets"]?.intValue ?? table[0]),
            "max_distance": .int(given["relative_attention_max_distance"]?.intValue ?? 128),
            "eps": .double(given["layer_norm_epsilon"]?.doubleValue ?? 1e-6),
            "shared_pos": .bool(variant == .t5),
            "text_len": .int(textLength),
            "prompt_clean": .string(variant == .umt5 ? "wan" : "ltx"),
        ]
        return .object(fields)
    }

    public func expectedTensors(config: JSONValue, keyMap: KeyMap, names: Set<String>) throws -> [ExpectedTensor] {
        let layers = config["num_layers"]?.intValue ?? 0
        return try keyMap.expectedTensors(sizes: integerFields(config), placeholders: ["{blocks}": (0 ..< layers).map { "blocks.\($0)" }])
    }
}
