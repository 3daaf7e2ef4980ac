import Foundation
import VKQ

/// LTX-Video 0.9.x transformer and VACE-LTX-Video-0.9 (converters/ltx-video-transformer.json).
/// The config comes from the single file's `config` metadata (`transformer` object) or a diffusers config.json.
public struct LTXTransformerSpec: FamilySpec {
    public var keyMapName: String { "ltx-video-transformer" }

    public func family(config: JSONValue) -> String {
        config["context_num_layers"] == nil ? "ltx-video-0.9" : "vace-ltx-video-0.9"
    }

    /// `transformer_context_blocks.<d>` indices present in the checkpoint (sparse: only VACE layers).
    static func contextIndices(_ names: Set<String>) -> [Int] {
        Set(names.compactMap { name -> Int? in
            guard name.hasPrefix("transformer_context_blocks."), name.hasSuffix(".after_proj.weight") else { return nil }
            return Int(name.split(separator: ".")[1])
        }).sorted()
    }

    public func resolveConfig(configs: [JSONValue], metadata: [String: String], shapeOf: (String) -> [Int]?, names: Set<String>) throws -> JSONValue {
        var sources = configs
        if let text = metadata["config"], let header = try? JSONValue.parse(Data(text.utf8)), let transformer = header["transformer"] {
            sources.insert(transformer, at: 0)
        }
        var fields: [String: JSONValue] = [:]
        for key in ["num_layers", "num_attention_heads", "attention_head_dim", "in_channels", "out_channels", "cross_attention_dim",
                    "caption_channels", "norm_eps", "positional_embedding_theta", "positional_embedding_max_pos", "timestep_scale_multiplier",
                    "causal_temporal_positioning", "context_num_layers", "in_context_channels", "activation_fn"] {
            if let value = sources.lazy.compactMap({ $0[key] }).first { fields[key] = value }
        }
        // What the tensors say, for whatever no config gave (released 2B models use 64-wide heads).
        if fields["in_channels"] == nil, let s = shapeOf("patchify_proj.weight") { fields["in_channels"] = .int(s[1]) }
        if fields["out_channels"] == nil, let s = shapeOf("proj_out.weight") { fields["out_channels"] = .int(s[0]) }
        if fields["caption_channels"] == nil, let s = shapeOf("caption_projection.linear_1.weight") { fields["caption_channels"] = .int(s[1]) }
        if fields["cross_attention_dim"] == nil, let s = shapeOf("transformer_blocks.0.attn2.to_k.weight") { fields["cross_attention_dim"] = .int(s[1]) }
        if fields["num_layers"] == nil {
            var layers = 0
            while shapeOf("transformer_blocks.\(layers).ff.net.2.weight") != nil { layers += 1 }
            fields["num_layers"] = .int(layers)
        }
        if fields["num_attention_heads"] == nil || fields["attention_head_dim"] == nil {
            guard let inner = shapeOf("patchify_proj.weight")?.first, inner % 64 == 0 else {
                throw ConvertError.badConfig("LTX transformer: no config with num_attention_heads / attention_head_dim")
            }
            fields["num_attention_heads"] = .int(inner / 64)
            fields["attention_head_dim"] = .int(64)
        }
        fields["norm_eps"] = fields["norm_eps"] ?? .double(1e-6)
        fields["positional_embedding_theta"] = fields["positional_embedding_theta"] ?? .double(10000)
        fields["positional_embedding_max_pos"] = fields["positional_embedding_max_pos"] ?? .array([20, 2048, 2048].map { .int($0) })
        fields["timestep_scale_multiplier"] = fields["timestep_scale_multiplier"] ?? .int(1000)
        fields["causal_temporal_positioning"] = fields["causal_temporal_positioning"] ?? .bool(false)

        let present = Self.contextIndices(names)
        if present.isEmpty {
            fields["context_num_layers"] = nil
            fields["in_context_channels"] = nil
        } else {
            // The config may give a list or a count n (= 0…n−1); either must agree with the keys.
            var listed = present
            if let given = fields["context_num_layers"] {
                listed = integers(given) ?? given.intValue.map { Array(0 ..< $0) } ?? []
            }
            guard listed == present else {
                throw ConvertError.badConfig("context_num_layers \(listed) disagrees with the context blocks in the checkpoint \(present)")
            }
            fields["context_num_layers"] = .array(present.map { .int($0) })
            fields["in_context_channels"] = fields["in_context_channels"] ?? shapeOf("patchify_context_proj.weight").map { .int($0[1]) } ?? .int(384)
        }
        return .object(fields)
    }

    public func expectedTensors(config: JSONValue, keyMap: KeyMap, names: Set<String>) throws -> [ExpectedTensor] {
        var sizes = integerFields(config)
        sizes["inner"] = (sizes["num_attention_heads"] ?? 0) * (sizes["attention_head_dim"] ?? 0)
        let layers = sizes["num_layers"] ?? 0
        let context = integers(config["context_num_layers"]) ?? []
        return try keyMap.expectedTensors(
            sizes: sizes,
            placeholders: [
                "{blocks}": (0 ..< layers).map { "transformer_blocks.\($0)" } + context.map { "transformer_context_blocks.\($0)" },
                "{context}": context.map(String.init),
            ],
            features: context.isEmpty ? [] : ["vace"])
    }
}
