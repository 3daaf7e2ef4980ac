import Foundation
import VKQ

/// The LTX-Video 0.9 causal video VAE (converters/ltx-video-vae.json). Its tensor list is generated from
/// the config's `blocks` list (../shared/specs/ltx-vace.md §1.3, §2.4). The 0.9.1 / 0.9.5 VAEs
/// (timestep-conditioned decoders, new encoder) are detected and refused with a clear message.
public struct LTXVAESpec: FamilySpec {
    public var keyMapName: String { "ltx-video-vae" }
    public func family(config: JSONValue) -> String { "ltx-video-vae-0.9" }

    public func resolveConfig(configs: [JSONValue], metadata: [String: String], shapeOf: (String) -> [Int]?, names: Set<String>) throws -> JSONValue {
        if names.contains("decoder.timestep_scale_multiplier") || names.contains(where: { $0.hasPrefix("decoder.last_time_embedder.") }) {
            throw ConvertError.unsupportedFamily("ltx-video-vae-0.9.1 (timestep-conditioned decoder)")
        }
        var vae: JSONValue?
        if let text = metadata["config"], let header = try? JSONValue.parse(Data(text.utf8)) { vae = header["vae"] }
        var fields: [String: JSONValue] = [:]
        if let vae {
            // The single file's own ("ours") config.
            if vae["decoder_blocks"] != nil || vae["encoder_blocks"] != nil {
                throw ConvertError.unsupportedFamily("ltx-video-vae-0.9.1/0.9.5 (separate encoder_blocks/decoder_blocks)")
            }
            guard let blocks = vae["blocks"] else { throw ConvertError.badConfig("LTX VAE config has no `blocks` list") }
            fields["blocks"] = blocks
            for key in ["in_channels", "out_channels", "latent_channels", "patch_size", "latent_log_var", "norm_layer", "scaling_factor"] {
                fields[key] = vae[key]
            }
            fields["base_channels"] = vae["encoder_base_channels"] ?? .int(128)
        } else if let diffusers = configs.first(where: { $0["layers_per_block"] != nil }) {
            // diffusers AutoencoderKLLTXVideo: only the 0.9 layout (4 stages, no timestep conditioning) maps onto `blocks`.
            guard diffusers["timestep_conditioning"]?.boolValue != true, let layers = integers(diffusers["layers_per_block"]), layers.count == 5,
                  let channels = integers(diffusers["block_out_channels"]), channels.count == 4
            else { throw ConvertError.unsupportedFamily("ltx-video-vae (a diffusers layout other than 0.9)") }
            func res(_ n: Int) -> JSONValue { .array([.string("res_x"), .int(n)]) }
            let compress: JSONValue = .array([.string("compress_all"), .int(1)])
            let widen: JSONValue = .array([.string("res_x_y"), .int(1)])
            fields["blocks"] = .array([res(layers[0]), compress, widen, res(layers[1]), compress, widen, res(layers[2]), compress, res(layers[3]), res(layers[4])])
            fields["base_channels"] = .int(channels[0])
            for key in ["in_channels", "out_channels", "latent_channels", "patch_size", "scaling_factor"] { fields[key] = diffusers[key] }
            fields["latent_log_var"] = .string("uniform")
            fields["norm_layer"] = .string("pixel_norm")
        } else {
            throw ConvertError.badConfig("LTX VAE: no `config` metadata in the single file and no diffusers config.json")
        }
        fields["version"] = .string("0.9")
        fields["in_channels"] = fields["in_channels"] ?? .int(3)
        fields["out_channels"] = fields["out_channels"] ?? .int(3)
        fields["latent_channels"] = fields["latent_channels"] ?? .int(128)
        fields["patch_size"] = fields["patch_size"] ?? .int(4)
        fields["latent_log_var"] = fields["latent_log_var"] ?? .string("uniform")
        return .object(fields)
    }

    public func expectedTensors(config: JSONValue, keyMap: KeyMap, names: Set<String>) throws -> [ExpectedTensor] {
        guard let blocks = config["blocks"]?.arrayValue, let base = config["base_channels"]?.intValue,
              let latent = config["latent_channels"]?.intValue, let patch = config["patch_size"]?.intValue,
              let inChannels = config["in_channels"]?.intValue, let outChannels = config["out_channels"]?.intValue
        else { throw ConvertError.badConfig("LTX VAE config is incomplete: \(config)") }
        let kinds: [(String, Int)] = try blocks.map { block in
            guard let pair = block.arrayValue, let kind = pair.first?.stringValue else { throw ConvertError.badConfig("LTX VAE block \(block)") }
            return (kind, pair.count > 1 ? pair[1].intValue ?? 1 : 1)
        }
        let logVarChannels = ["uniform": 1, "per_channel": latent, "none": 0, "constant": 0][config["latent_log_var"]?.stringValue ?? "uniform"] ?? 1
        var out: [ExpectedTensor] = []
        func conv(_ name: String, _ shape: [Int]) {
            out.append(.init(name: name + ".weight", shape: shape, role: .conv))
            out.append(.init(name: name + ".bias", shape: [shape[0]], role: .small))
        }
        func resBlocks(_ prefix: String, _ n: Int, _ c: Int) {
            for j in 0 ..< n {
                conv("\(prefix).res_blocks.\(j).conv1.conv", [c, c, 3, 3, 3])
                conv("\(prefix).res_blocks.\(j).conv2.conv", [c, c, 3, 3, 3])
            }
        }
        func changeWidth(_ prefix: String, from cin: Int, to cout: Int) {
            conv("\(prefix).conv1.conv", [cout, cin, 3, 3, 3])
            conv("\(prefix).conv2.conv", [cout, cout, 3, 3, 3])
            conv("\(prefix).conv_shortcut", [cout, cin, 1, 1, 1])
            out.append(.init(name: "\(prefix).norm3.norm.weight", shape: [cin], role: .small))
            out.append(.init(name: "\(prefix).norm3.norm.bias", shape: [cin], role: .small))
        }
        let stride = ["compress_all": 8, "compress_time": 2, "compress_space": 4]

        var c = base
        conv("encoder.conv_in.conv", [c, inChannels * patch * patch, 3, 3, 3])
        for (i, (kind, n)) in kinds.enumerated() {
            let prefix = "encoder.down_blocks.\(i)"
            switch kind {
            case "res_x": resBlocks(prefix, n, c)
            case "res_x_y": changeWidth(prefix, from: c, to: 2 * c); c *= 2
            case _ where stride[kind] != nil: conv("\(prefix).conv", [c, c, 3, 3, 3])
            default: throw ConvertError.unsupportedFamily("ltx-video-vae with a '\(kind)' block")
            }
        }
        conv("encoder.conv_out.conv", [latent + logVarChannels, c, 3, 3, 3])

        conv("decoder.conv_in.conv", [c, latent, 3, 3, 3])
        for (i, (kind, n)) in kinds.reversed().enumerated() {
            let prefix = "decoder.up_blocks.\(i)"
            switch kind {
            case "res_x": resBlocks(prefix, n, c)
            case "res_x_y": changeWidth(prefix, from: c, to: c / 2); c /= 2
            default: conv("\(prefix).conv.conv", [c * stride[kind]!, c, 3, 3, 3])
            }
        }
        conv("decoder.conv_out.conv", [outChannels * patch * patch, c, 3, 3, 3])
        out.append(.init(name: "per_channel_statistics.mean-of-means", shape: [latent], role: .small))
        out.append(.init(name: "per_channel_statistics.std-of-means", shape: [latent], role: .small))
        return out
    }
}
