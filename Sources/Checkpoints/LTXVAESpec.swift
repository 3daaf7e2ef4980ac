import Foundation
import VKQ

/// The LTX-Video causal video VAEs (converters/ltx-video-vae*.json): 0.9 (one `blocks` list), 0.9.1 (the
/// 0.9 encoder, a timestep-conditioned decoder with noise injection and residual upsamplers) and 0.9.5
/// (a space-to-depth residual encoder, the 0.9.1-style decoder without noise). The tensor list is
/// generated from the block lists (../shared/specs/ltx-vace.md §1.3, §2.4, §5), walked as LTX-Video's
/// `Encoder` / `Decoder` constructors walk them (ltx_video/models/autoencoders/causal_video_autoencoder.py).
public struct LTXVAESpec: FamilySpec {
    public enum Version: String, Sendable { case v09 = "0.9", v091 = "0.9.1", v095 = "0.9.5" }
    public var version: Version

    public init(version: Version = .v09) { self.version = version }

    public var keyMapName: String { version == .v09 ? "ltx-video-vae" : "ltx-video-vae-\(version.rawValue)" }
    public func family(config: JSONValue) -> String { "ltx-video-vae-\(config["version"]?.stringValue ?? version.rawValue)" }

    public func resolveConfig(configs: [JSONValue], metadata: [String: String], shapeOf: (String) -> [Int]?, names: Set<String>) throws -> JSONValue {
        var vae: JSONValue?
        if let text = metadata["config"], let header = try? JSONValue.parse(Data(text.utf8)) { vae = header["vae"] }
        var fields: [String: JSONValue] = [:]
        if let vae {
            // The single file's own ("ours") config.
            if vae["decoder_blocks"] != nil || vae["encoder_blocks"] != nil {
                guard let enc = vae["encoder_blocks"] ?? vae["blocks"], let dec = vae["decoder_blocks"] ?? vae["blocks"] else {
                    throw ConvertError.badConfig("LTX VAE config has `encoder_blocks` or `decoder_blocks` but not both (and no `blocks`)")
                }
                fields["encoder_blocks"] = try Self.normalised(enc)
                fields["decoder_blocks"] = try Self.normalised(dec)
                fields["timestep_conditioning"] = .bool(vae["timestep_conditioning"]?.boolValue ?? false)
            } else {
                guard let blocks = vae["blocks"] else { throw ConvertError.badConfig("LTX VAE config has no `blocks` list") }
                fields["blocks"] = blocks
                fields["base_channels"] = vae["encoder_base_channels"] ?? .int(128)
            }
            for key in ["in_channels", "out_channels", "latent_channels", "patch_size", "latent_log_var", "norm_layer", "scaling_factor", "causal_decoder"] {
                fields[key] = vae[key]
            }
        } else if let diffusers = configs.first(where: { $0["layers_per_block"] != nil }) {
            if diffusers["timestep_conditioning"]?.boolValue == true {
                (fields["encoder_blocks"], fields["decoder_blocks"]) = try Self.blocks(diffusers: diffusers)
                fields["timestep_conditioning"] = .bool(true)
            } else {
                // diffusers AutoencoderKLLTXVideo in the 0.9 layout (4 stages, no timestep conditioning) maps onto `blocks`.
                guard let layers = integers(diffusers["layers_per_block"]), layers.count == 5,
                      let channels = integers(diffusers["block_out_channels"]), channels.count == 4
                else { throw ConvertError.unsupportedFamily("ltx-video-vae (a diffusers layout other than 0.9, 0.9.1, 0.9.5)") }
                func res(_ n: Int) -> JSONValue { .array([.string("res_x"), .int(n)]) }
                let compress: JSONValue = .array([.string("compress_all"), .int(1)])
                let widen: JSONValue = .array([.string("res_x_y"), .int(1)])
                fields["blocks"] = .array([res(layers[0]), compress, widen, res(layers[1]), compress, widen, res(layers[2]), compress, res(layers[3]), res(layers[4])])
                fields["base_channels"] = .int(channels[0])
            }
            for key in ["in_channels", "out_channels", "latent_channels", "patch_size", "scaling_factor"] { fields[key] = diffusers[key] }
            fields["latent_log_var"] = .string("uniform")
            fields["norm_layer"] = .string("pixel_norm")
            fields["causal_decoder"] = diffusers["decoder_causal"]
        } else {
            throw ConvertError.badConfig("LTX VAE: no `config` metadata in the single file and no diffusers config.json")
        }
        if fields["encoder_blocks"] != nil {
            // Widths from the tensors: the real headers omit them (LTX-Video's constructors default to 128).
            guard let encoderIn = shapeOf("encoder.conv_in.conv.weight"), let decoderOut = shapeOf("decoder.conv_out.conv.weight") else {
                throw ConvertError.missingTensors(["encoder.conv_in.conv.weight", "decoder.conv_out.conv.weight"], family: "ltx-video-vae")
            }
            fields["encoder_base_channels"] = .int(encoderIn[0])
            fields["decoder_base_channels"] = .int(decoderOut[1])
        }
        fields["version"] = .string(Self.version(fields).rawValue)
        if fields["version"]?.stringValue != version.rawValue {
            throw ConvertError.badConfig("LTX VAE: the tensors look like \(version.rawValue) but the config describes \(fields["version"]!.stringValue!)")
        }
        fields["in_channels"] = fields["in_channels"] ?? .int(3)
        fields["out_channels"] = fields["out_channels"] ?? .int(3)
        fields["latent_channels"] = fields["latent_channels"] ?? .int(128)
        fields["patch_size"] = fields["patch_size"] ?? .int(4)
        fields["latent_log_var"] = fields["latent_log_var"] ?? .string("uniform")
        if fields["causal_decoder"] == nil || fields["causal_decoder"] == .null { fields["causal_decoder"] = .bool(false) }
        return .object(fields.filter { $0.value != .null })
    }

    /// 0.9: one list; 0.9.5: `compress_*_res` encoder blocks; else 0.9.1.
    static func version(_ fields: [String: JSONValue]) -> Version {
        guard let enc = fields["encoder_blocks"]?.arrayValue else { return .v09 }
        let kinds = enc.compactMap { $0.arrayValue?.first?.stringValue }
        if kinds.contains(where: { $0.hasSuffix("_res") }) { return .v095 }
        return fields["timestep_conditioning"]?.boolValue == true ? .v091 : .v09
    }

    /// Block list entries as `[name, {params}]`: 0.9 headers write `["res_x", 4]`, 0.9.1+ `["res_x", {"num_layers": 4}]`
    /// (the original turns an integer into `{"num_layers": n}`).
    static func normalised(_ list: JSONValue) throws -> JSONValue {
        guard let entries = list.arrayValue else { throw ConvertError.badConfig("LTX VAE block list \(list)") }
        return .array(try entries.map { entry in
            guard let pair = entry.arrayValue, let name = pair.first?.stringValue else { throw ConvertError.badConfig("LTX VAE block \(entry)") }
            if pair.count < 2 { return .array([.string(name), .object([:])]) }
            if let n = pair[1].intValue { return .array([.string(name), .object(["num_layers": .int(n)])]) }
            guard pair[1].objectValue != nil else { throw ConvertError.badConfig("LTX VAE block \(entry): parameters must be an integer or an object") }
            return .array([.string(name), pair[1]])
        })
    }

    /// The "ours" block lists of a timestep-conditioned diffusers config (diffusers `LTXVideoEncoder3d` /
    /// `LTXVideoDecoder3d` constructors), both in encoder order.
    static func blocks(diffusers d: JSONValue) throws -> (JSONValue, JSONValue) {
        func ints(_ key: String) -> [Int]? { integers(d[key]) }
        func bools(_ key: String, _ n: Int) -> [Bool] { d[key]?.arrayValue?.map { $0.boolValue ?? false } ?? Array(repeating: false, count: n) }
        func block(_ name: String, _ params: [String: JSONValue]) -> JSONValue { .array([.string(name), .object(params)]) }
        guard let channels = ints("block_out_channels"), let layers = ints("layers_per_block"),
              let decChannels = ints("decoder_block_out_channels"), let decLayers = ints("decoder_layers_per_block"),
              layers.count == channels.count + (channels.count == 5 ? 0 : 1), decLayers.count == decChannels.count + 1
        else { throw ConvertError.badConfig("LTX VAE diffusers config: block_out_channels / layers_per_block do not fit together") }
        let is095 = d["down_block_types"]?.arrayValue?.last?.stringValue == "LTXVideo095DownBlock3D"
        let scaling = bools("spatio_temporal_scaling", 4)
        var enc: [JSONValue] = []
        let stages = channels.count - (is095 ? 1 : 0)
        let types = d["downsample_type"]?.arrayValue?.compactMap(\.stringValue) ?? []
        for i in 0 ..< stages {
            enc.append(block("res_x", ["num_layers": .int(layers[i])]))
            let next = is095 ? channels[i + 1] : (i + 1 < stages ? channels[i + 1] : channels[i])
            if is095 {
                guard scaling[i] else { continue }
                let kind = ["spatial": "compress_space_res", "temporal": "compress_time_res", "spatiotemporal": "compress_all_res"][i < types.count ? types[i] : ""]
                guard let kind, next % channels[i] == 0 else { throw ConvertError.unsupportedFamily("ltx-video-vae-0.9.5 with downsample_type \(types)") }
                enc.append(block(kind, ["multiplier": .int(next / channels[i])]))
            } else {
                if scaling[i] { enc.append(block("compress_all", [:])) }
                if next != channels[i] { enc.append(block("res_x_y", ["multiplier": .int(next / channels[i])])) }
            }
        }
        enc.append(block("res_x", ["num_layers": .int(layers[layers.count - 1])]))
        // Decoder in execution order (diffusers reverses every list), then reversed into encoder order.
        let n = decChannels.count
        let rChannels = Array(decChannels.reversed()), rLayers = Array(decLayers.reversed())
        let rNoise = Array(bools("decoder_inject_noise", n + 1).reversed()), rScaling = Array(bools("decoder_spatio_temporal_scaling", n).reversed())
        let rResidual = Array(bools("upsample_residual", n).reversed()), rFactor = Array((ints("upsample_factor") ?? Array(repeating: 1, count: n)).reversed())
        var dec: [JSONValue] = [block("res_x", ["num_layers": .int(rLayers[0]), "inject_noise": .bool(rNoise[0])])]
        var width = rChannels[0]
        for i in 0 ..< n {
            let input = width / rFactor[i], output = rChannels[i] / rFactor[i]
            guard input == output, rScaling[i] else {
                throw ConvertError.unsupportedFamily("ltx-video-vae (a timestep-conditioned diffusers decoder with a width change outside the upsamplers)")
            }
            dec.append(block("compress_all", ["residual": .bool(rResidual[i]), "multiplier": .int(rFactor[i])]))
            dec.append(block("res_x", ["num_layers": .int(rLayers[i + 1]), "inject_noise": .bool(rNoise[i + 1])]))
            width = output
        }
        return (.array(enc), .array(dec.reversed()))
    }

    public func expectedTensors(config: JSONValue, keyMap: KeyMap, names: Set<String>) throws -> [ExpectedTensor] {
        guard let latent = config["latent_channels"]?.intValue, let patch = config["patch_size"]?.intValue,
              let inChannels = config["in_channels"]?.intValue, let outChannels = config["out_channels"]?.intValue
        else { throw ConvertError.badConfig("LTX VAE config is incomplete: \(config)") }
        typealias Block = (kind: String, layers: Int, multiplier: Int?, noise: Bool)
        func parse(_ list: JSONValue?) throws -> [Block] {
            guard let list = list?.arrayValue else { throw ConvertError.badConfig("LTX VAE config has no block list: \(config)") }
            return try list.map { entry in
                guard let pair = entry.arrayValue, let kind = pair.first?.stringValue else { throw ConvertError.badConfig("LTX VAE block \(entry)") }
                let p = pair.count > 1 ? pair[1] : .object([:])
                if let n = p.intValue { return (kind, n, nil, false) }
                return (kind, p["num_layers"]?.intValue ?? 1, p["multiplier"]?.intValue, p["inject_noise"]?.boolValue ?? false)
            }
        }
        let encoder = try parse(config["encoder_blocks"] ?? config["blocks"]), decoder = try parse(config["decoder_blocks"] ?? config["blocks"])
        guard let encoderBase = config["encoder_base_channels"]?.intValue ?? config["base_channels"]?.intValue,
              let decoderBase = config["decoder_base_channels"]?.intValue ?? config["base_channels"]?.intValue
        else { throw ConvertError.badConfig("LTX VAE config has no base channels: \(config)") }
        let timestep = config["timestep_conditioning"]?.boolValue ?? false
        let logVarChannels = ["uniform": 1, "per_channel": latent, "none": 0, "constant": 0][config["latent_log_var"]?.stringValue ?? "uniform"] ?? 1
        var out: [ExpectedTensor] = []
        func conv(_ name: String, _ shape: [Int]) {
            out.append(.init(name: name + ".weight", shape: shape, role: .conv))
            out.append(.init(name: name + ".bias", shape: [shape[0]], role: .small))
        }
        func small(_ name: String, _ shape: [Int]) { out.append(.init(name: name, shape: shape, role: .small)) }
        func embedder(_ prefix: String, _ dim: Int) {
            out.append(.init(name: prefix + ".timestep_embedder.linear_1.weight", shape: [dim, 256], role: .sensitive))
            small(prefix + ".timestep_embedder.linear_1.bias", [dim])
            out.append(.init(name: prefix + ".timestep_embedder.linear_2.weight", shape: [dim, dim], role: .sensitive))
            small(prefix + ".timestep_embedder.linear_2.bias", [dim])
        }
        func resBlocks(_ prefix: String, _ n: Int, _ c: Int, timestep: Bool = false, noise: Bool = false) {
            for j in 0 ..< n {
                conv("\(prefix).res_blocks.\(j).conv1.conv", [c, c, 3, 3, 3])
                conv("\(prefix).res_blocks.\(j).conv2.conv", [c, c, 3, 3, 3])
                if timestep { small("\(prefix).res_blocks.\(j).scale_shift_table", [4, c]) }
                if noise {
                    small("\(prefix).res_blocks.\(j).per_channel_scale1", [c, 1, 1])
                    small("\(prefix).res_blocks.\(j).per_channel_scale2", [c, 1, 1])
                }
            }
            if timestep { embedder("\(prefix).time_embedder", 4 * c) }
        }
        func changeWidth(_ prefix: String, from cin: Int, to cout: Int) {
            conv("\(prefix).conv1.conv", [cout, cin, 3, 3, 3])
            conv("\(prefix).conv2.conv", [cout, cout, 3, 3, 3])
            conv("\(prefix).conv_shortcut", [cout, cin, 1, 1, 1])
            small("\(prefix).norm3.norm.weight", [cin])
            small("\(prefix).norm3.norm.bias", [cin])
        }
        let stride = ["time": 2, "space": 4, "all": 8]

        var c = encoderBase
        conv("encoder.conv_in.conv", [c, inChannels * patch * patch, 3, 3, 3])
        for (i, block) in encoder.enumerated() {
            let prefix = "encoder.down_blocks.\(i)"
            switch block.kind {
            case "res_x": resBlocks(prefix, block.layers, c)
            case "res_x_y": changeWidth(prefix, from: c, to: (block.multiplier ?? 2) * c); c *= block.multiplier ?? 2
            case "compress_time", "compress_space", "compress_all": conv("\(prefix).conv", [c, c, 3, 3, 3])
            case "compress_all_x_y": conv("\(prefix).conv", [(block.multiplier ?? 2) * c, c, 3, 3, 3]); c *= block.multiplier ?? 2
            case "compress_time_res", "compress_space_res", "compress_all_res":
                let m = block.multiplier ?? 2, s = stride[String(block.kind.dropFirst("compress_".count).dropLast("_res".count))]!
                guard m * c % s == 0 else { throw ConvertError.badConfig("LTX VAE \(prefix): \(m * c) channels do not split into \(s) positions") }
                conv("\(prefix).conv.conv", [m * c / s, c, 3, 3, 3]); c *= m
            default: throw ConvertError.unsupportedFamily("ltx-video-vae with a '\(block.kind)' encoder block")
            }
        }
        conv("encoder.conv_out.conv", [latent + logVarChannels, c, 3, 3, 3])

        // The decoder starts at the product of its width multipliers (Decoder.__init__).
        c = decoder.reduce(decoderBase) { width, block in
            block.kind == "res_x_y" ? width * (block.multiplier ?? 2) : block.kind == "compress_all" ? width * (block.multiplier ?? 1) : width
        }
        conv("decoder.conv_in.conv", [c, latent, 3, 3, 3])
        for (i, block) in decoder.reversed().enumerated() {
            let prefix = "decoder.up_blocks.\(i)"
            switch block.kind {
            case "res_x": resBlocks(prefix, block.layers, c, timestep: timestep, noise: block.noise)
            case "res_x_y": changeWidth(prefix, from: c, to: c / (block.multiplier ?? 2)); c /= block.multiplier ?? 2
            case "compress_time", "compress_space": conv("\(prefix).conv.conv", [c * stride[String(block.kind.dropFirst("compress_".count))]!, c, 3, 3, 3])
            case "compress_all":
                let m = block.multiplier ?? 1
                conv("\(prefix).conv.conv", [c * 8 / m, c, 3, 3, 3]); c /= m
            default: throw ConvertError.unsupportedFamily("ltx-video-vae with a '\(block.kind)' decoder block")
            }
        }
        conv("decoder.conv_out.conv", [outChannels * patch * patch, c, 3, 3, 3])
        if timestep {
            small("decoder.timestep_scale_multiplier", [])
            embedder("decoder.last_time_embedder", 2 * c)
            small("decoder.last_scale_shift_table", [2, c])
        }
        small("per_channel_statistics.mean-of-means", [latent])
        small("per_channel_statistics.std-of-means", [latent])
        return out
    }
}
