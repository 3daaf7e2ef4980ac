import VKQ

/// The Wan2.1 causal video VAE (converters/wan2.1-vae.json). Its tensor list follows the architecture's
/// loops (../shared/specs/wan-vace.md §1.2 and §2.5), so it is generated here from the config.
public struct WanVAESpec: FamilySpec {
    public var keyMapName: String { "wan2.1-vae" }
    public func family(config: JSONValue) -> String { "wan2.1-vae" }

    /// Per-channel latent statistics: constants of the official code, not stored in the checkpoint.
    static let latentsMean: [Double] = [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                                        0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921]
    static let latentsStd: [Double] = [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
                                       3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160]

    public func resolveConfig(configs: [JSONValue], metadata: [String: String], shapeOf: (String) -> [Int]?, names: Set<String>) throws -> JSONValue {
        let given = configs.first { $0["base_dim"] != nil || $0["z_dim"] != nil } ?? .object([:])
        guard let baseDim = given["base_dim"]?.intValue ?? shapeOf("encoder.conv1.weight")?.first,
              let zDim = given["z_dim"]?.intValue ?? shapeOf("conv2.weight")?.first
        else { throw ConvertError.badConfig("Wan VAE: cannot tell base_dim / z_dim (no config and no encoder.conv1.weight / conv2.weight)") }
        let fields: [String: JSONValue] = [
            "base_dim": .int(baseDim),
            "z_dim": .int(zDim),
            "dim_mult": given["dim_mult"] ?? .array([1, 2, 4, 4].map { .int($0) }),
            "num_res_blocks": given["num_res_blocks"] ?? .int(2),
            "temperal_downsample": given["temperal_downsample"] ?? .array([false, true, true].map { .bool($0) }),
            "latents_mean": given["latents_mean"] ?? .array(Self.latentsMean.map { .double($0) }),
            "latents_std": given["latents_std"] ?? .array(Self.latentsStd.map { .double($0) }),
            "scale_factor_temporal": .int(4),
            "scale_factor_spatial": .int(8),
        ]
        if let mean = fields["latents_mean"]?.arrayValue, mean.count != zDim {
            throw ConvertError.badConfig("Wan VAE: latents_mean has \(mean.count) values for z_dim \(zDim)")
        }
        return .object(fields)
    }

    public func expectedTensors(config: JSONValue, keyMap: KeyMap, names: Set<String>) throws -> [ExpectedTensor] {
        guard let dim = config["base_dim"]?.intValue, let z = config["z_dim"]?.intValue,
              let mult = integers(config["dim_mult"]), let resBlocks = config["num_res_blocks"]?.intValue,
              let temporal = config["temperal_downsample"]?.arrayValue?.compactMap(\.boolValue), temporal.count == mult.count - 1
        else { throw ConvertError.badConfig("Wan VAE config is incomplete: \(config)") }
        var out: [ExpectedTensor] = []
        func conv(_ name: String, _ shape: [Int]) {
            out.append(.init(name: name + ".weight", shape: shape, role: .conv))
            out.append(.init(name: name + ".bias", shape: [shape[0]], role: .small))
        }
        func gamma(_ name: String, _ channels: Int, images: Bool = false) {
            out.append(.init(name: name, shape: images ? [channels, 1, 1] : [channels, 1, 1, 1], role: .small))
        }
        func residual(_ prefix: String, _ cin: Int, _ cout: Int) {
            gamma(prefix + ".residual.0.gamma", cin)
            conv(prefix + ".residual.2", [cout, cin, 3, 3, 3])
            gamma(prefix + ".residual.3.gamma", cout)
            conv(prefix + ".residual.6", [cout, cout, 3, 3, 3])
            if cin != cout { conv(prefix + ".shortcut", [cout, cin, 1, 1, 1]) }
        }
        func middle(_ prefix: String, _ c: Int) {
            residual(prefix + ".middle.0", c, c)
            gamma(prefix + ".middle.1.norm.gamma", c, images: true)
            conv(prefix + ".middle.1.to_qkv", [3 * c, c, 1, 1])
            conv(prefix + ".middle.1.proj", [c, c, 1, 1])
            residual(prefix + ".middle.2", c, c)
        }

        // Encoder: dims = dim · [1] + dim_mult.
        let encoderDims = ([1] + mult).map { dim * $0 }
        conv("encoder.conv1", [encoderDims[0], 3, 3, 3, 3])
        var index = 0
        for stage in 0 ..< mult.count {
            var cin = encoderDims[stage]
            let cout = encoderDims[stage + 1]
            for _ in 0 ..< resBlocks {
                residual("encoder.downsamples.\(index)", cin, cout)
                cin = cout
                index += 1
            }
            if stage != mult.count - 1 {
                conv("encoder.downsamples.\(index).resample.1", [cout, cout, 3, 3])
                if temporal[stage] { conv("encoder.downsamples.\(index).time_conv", [cout, cout, 3, 1, 1]) }
                index += 1
            }
        }
        middle("encoder", encoderDims.last!)
        gamma("encoder.head.0.gamma", encoderDims.last!)
        conv("encoder.head.2", [2 * z, encoderDims.last!, 3, 3, 3])
        conv("conv1", [2 * z, 2 * z, 1, 1, 1])
        conv("conv2", [z, z, 1, 1, 1])

        // Decoder: dims = dim · [dim_mult.last] + reversed(dim_mult); upsampling stages after the first
        // take half the channels, because each upsampler's 2-D conv halves them.
        let decoderDims = ([mult.last!] + mult.reversed()).map { dim * $0 }
        let temporalUp = Array(temporal.reversed())
        conv("decoder.conv1", [decoderDims[0], z, 3, 3, 3])
        middle("decoder", decoderDims[0])
        index = 0
        for stage in 0 ..< mult.count {
            var cin = stage == 0 ? decoderDims[0] : decoderDims[stage] / 2
            let cout = decoderDims[stage + 1]
            for _ in 0 ... resBlocks {
                residual("decoder.upsamples.\(index)", cin, cout)
                cin = cout
                index += 1
            }
            if stage != mult.count - 1 {
                conv("decoder.upsamples.\(index).resample.1", [cout / 2, cout, 3, 3])
                if temporalUp[stage] { conv("decoder.upsamples.\(index).time_conv", [cout * 2, cout, 3, 1, 1]) }
                index += 1
            }
        }
        gamma("decoder.head.0.gamma", decoderDims.last!)
        conv("decoder.head.2", [3, decoderDims.last!, 3, 3, 3])
        return out
    }
}
