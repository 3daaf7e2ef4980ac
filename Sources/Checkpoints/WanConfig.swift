import Foundation
import VKQ

/// The Wan2.1 transformer config the runtime needs, resolved from an official or diffusers
/// `config.json` where given, and from tensor shapes and the model cards (../shared/specs/wan-vace.md §1.1)
/// where not. Fields use the official names.
public enum WanConfig {
    public static func resolve(configs: [JSONValue], shapeOf: (String) -> [Int]?, vaceBlockCount: Int, modelType: String) throws -> JSONValue {
        var fields: [String: JSONValue] = [:]
        // Official names first, then diffusers names for the same quantity.
        let aliases: [(String, [String])] = [
            ("dim", ["dim"]), ("ffn_dim", ["ffn_dim"]), ("num_heads", ["num_heads", "num_attention_heads"]),
            ("num_layers", ["num_layers"]), ("in_dim", ["in_dim", "in_channels"]), ("out_dim", ["out_dim", "out_channels"]),
            ("text_dim", ["text_dim"]), ("freq_dim", ["freq_dim"]), ("text_len", ["text_len"]), ("eps", ["eps"]),
            ("vace_layers", ["vace_layers"]), ("vace_in_dim", ["vace_in_dim", "vace_in_channels"]),
        ]
        for config in configs {
            for (name, keys) in aliases where fields[name] == nil {
                if let value = keys.lazy.compactMap({ config[$0] }).first { fields[name] = value }
            }
            // diffusers stores heads × head_dim instead of dim.
            if fields["dim"] == nil, let heads = config["num_attention_heads"]?.intValue, let headDim = config["attention_head_dim"]?.intValue {
                fields["dim"] = .int(heads * headDim)
            }
        }
        // What the tensors say, for whatever no config gave.
        func fill(_ name: String, _ tensor: String, _ dim: Int, divide: Int = 1) {
            if fields[name] == nil, let shape = shapeOf(tensor), shape.count > dim { fields[name] = .int(shape[dim] / divide) }
        }
        fill("dim", "patch_embedding.weight", 0)
        fill("in_dim", "patch_embedding.weight", 1)
        fill("ffn_dim", "blocks.0.ffn.0.weight", 0)
        fill("text_dim", "text_embedding.0.weight", 1)
        fill("freq_dim", "time_embedding.0.weight", 1)
        fill("out_dim", "head.head.weight", 0, divide: 4)
        if vaceBlockCount > 0 { fill("vace_in_dim", "vace_patch_embedding.weight", 1) }
        if fields["num_layers"] == nil {
            var layers = 0
            while shapeOf("blocks.\(layers).ffn.0.weight") != nil { layers += 1 }
            fields["num_layers"] = .int(layers)
        }
        guard let dim = fields["dim"]?.intValue, let layers = fields["num_layers"]?.intValue else {
            throw ConvertError.badConfig("cannot tell the model width or depth: no config.json and no patch_embedding.weight")
        }
        // Every released Wan2.1 model uses 128-wide heads (1.3B: 12 heads, 14B: 40).
        if fields["num_heads"] == nil {
            guard dim % 128 == 0 else { throw ConvertError.badConfig("dim \(dim) is not a released Wan2.1 width; give config.json with num_heads") }
            fields["num_heads"] = .int(dim / 128)
        }
        fields["text_len"] = fields["text_len"] ?? .int(512)
        fields["eps"] = fields["eps"] ?? .double(1e-6)
        fields["patch_size"] = .array([.int(1), .int(2), .int(2)])
        fields["qk_norm"] = .bool(true)
        fields["cross_attn_norm"] = .bool(true)
        fields["model_type"] = .string(modelType)

        if vaceBlockCount > 0 {
            let layerList = try vaceLayers(fields["vace_layers"], blocks: vaceBlockCount, layers: layers)
            fields["vace_layers"] = .array(layerList.map { .int($0) })
        } else {
            fields["vace_layers"] = nil
            fields["vace_in_dim"] = nil
        }
        return .object(fields)
    }

    /// The main-stream layer after which each VACE block's hint is added. Not derivable from keys:
    /// from the config, else the released models' lists.
    static func vaceLayers(_ given: JSONValue?, blocks: Int, layers: Int) throws -> [Int] {
        if let given {
            guard let list = given.arrayValue?.compactMap(\.intValue), list.count == blocks else {
                throw ConvertError.badConfig("vace_layers \(given) does not list the \(blocks) VACE blocks the checkpoint holds")
            }
            guard list.first == 0, list.allSatisfy({ (0 ..< layers).contains($0) }), list == list.sorted() else {
                throw ConvertError.badConfig("vace_layers \(list) must start at 0, increase, and stay below num_layers \(layers)")
            }
            return list
        }
        switch (blocks, layers) {
        case (15, 30): return Array(stride(from: 0, to: 30, by: 2))
        case (8, 40): return Array(stride(from: 0, to: 40, by: 5))
        default:
            let everyOther = Array(stride(from: 0, to: layers, by: 2))
            guard everyOther.count == blocks else {
                throw ConvertError.badConfig("\(blocks) VACE blocks over \(layers) layers: give config.json with vace_layers")
            }
            return everyOther
        }
    }
}
