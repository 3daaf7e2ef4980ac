import VKQ

/// One model component found in the inputs, told from its keys (never from file names).
public struct DetectedComponent: Sendable {
    /// `transformer`, `vae` or `text_encoder`.
    public var component: String
    public var spec: any FamilySpec
    /// `official` or `diffusers`.
    public var layout: String
    /// In files that hold several components (the LTX-Video single file), only keys with this prefix
    /// belong to this one; nil means every key.
    public var keyPrefix: String?

    public var label: String { "\(spec.keyMapName) (\(layout) layout)" }
}

public enum Families {
    /// Family names accepted by `--family`, with the spec that converts each.
    static let byName: [(family: String, spec: any FamilySpec)] = [
        ("wan2.1-t2v", WanTransformerSpec()), ("wan2.1-vace", WanTransformerSpec()), ("wan2.1-vae", WanVAESpec()),
        ("ltx-video-0.9", LTXTransformerSpec()), ("vace-ltx-video-0.9", LTXTransformerSpec()), ("ltx-video-vae-0.9", LTXVAESpec()),
        ("umt5-xxl", T5EncoderSpec(.umt5)), ("t5-v1.1-xxl", T5EncoderSpec(.t5)),
        ("ltx-video-vae-0.9.1", LTXVAESpec(version: .v091)), ("ltx-video-vae-0.9.5", LTXVAESpec(version: .v095)),
    ]
    public static var supported: [String] { byName.map(\.family) }

    /// Every component the keys hold. `override` (`--family`) picks the spec; the layout is still read from the keys.
    public static func detect(keys: [String], files: [String], override: String? = nil) throws -> [DetectedComponent] {
        let all = Set(keys)
        let transformerPrefix = "model.diffusion_model."
        let inner = Set(keys.map { $0.hasPrefix(transformerPrefix) ? String($0.dropFirst(transformerPrefix.count)) : $0 })
        var found: [DetectedComponent] = []

        // Wan2.1 transformer: head.modulation (official) / condition_embedder (diffusers).
        let wanOfficial = inner.contains("head.modulation"), wanDiffusers = inner.contains("condition_embedder.time_proj.weight")
        if wanOfficial || wanDiffusers {
            found.append(.init(component: "transformer", spec: WanTransformerSpec(), layout: wanOfficial ? "official" : "diffusers", keyPrefix: nil))
        }
        // Wan2.1 VAE: encoder.conv1 + decoder.upsamples (official) / conv_in + up_blocks resnets with gamma (diffusers).
        if all.contains("encoder.conv1.weight") && all.contains("decoder.upsamples.0.residual.0.gamma") {
            found.append(.init(component: "vae", spec: WanVAESpec(), layout: "official", keyPrefix: nil))
        } else if all.contains("encoder.conv_in.weight") && all.contains("decoder.up_blocks.0.resnets.0.norm1.gamma") {
            found.append(.init(component: "vae", spec: WanVAESpec(), layout: "diffusers", keyPrefix: nil))
        }
        // LTX-Video transformer: patchify_proj (single file, under model.diffusion_model.) / proj_in + time_embed (diffusers).
        if all.contains(transformerPrefix + "patchify_proj.weight") {
            found.append(.init(component: "transformer", spec: LTXTransformerSpec(), layout: "official", keyPrefix: transformerPrefix))
        } else if all.contains("patchify_proj.weight") {
            found.append(.init(component: "transformer", spec: LTXTransformerSpec(), layout: "official", keyPrefix: nil))
        } else if all.contains("proj_in.weight") && all.contains("time_embed.linear.weight") {
            found.append(.init(component: "transformer", spec: LTXTransformerSpec(), layout: "diffusers", keyPrefix: nil))
        }
        // LTX-Video VAE: vae.* in the single file / CausalConv-wrapped conv_in + latents_mean (diffusers).
        // Versions: a timestep-conditioned decoder (last_time_embedder / time_embedder at the top) is 0.9.1+;
        // a space-to-depth residual encoder (its first downsampler wraps a CausalConv3d: conv.conv) is 0.9.5.
        if all.contains("vae.encoder.conv_in.conv.weight") {
            let version: LTXVAESpec.Version = all.contains("vae.encoder.down_blocks.1.conv.conv.weight") ? .v095
                : all.contains("vae.decoder.last_time_embedder.timestep_embedder.linear_1.weight") ? .v091 : .v09
            found.append(.init(component: "vae", spec: LTXVAESpec(version: version), layout: "official", keyPrefix: "vae."))
        } else if all.contains("encoder.conv_in.conv.weight") && all.contains("latents_mean") {
            let version: LTXVAESpec.Version = all.contains("encoder.down_blocks.0.downsamplers.0.conv.conv.weight") ? .v095
                : all.contains("decoder.time_embedder.timestep_embedder.linear_1.weight") ? .v091 : .v09
            found.append(.init(component: "vae", spec: LTXVAESpec(version: version), layout: "diffusers", keyPrefix: nil))
        }

        // T5 text encoders: the Wan T5Encoder names (official umT5) / transformers T5EncoderModel, where umT5
        // has a relative-position bias table in block 1 too (T5 v1.1 only in block 0).
        if all.contains("token_embedding.weight") && all.contains("blocks.0.ffn.gate.0.weight") {
            let umt5 = all.contains("blocks.1.pos_embedding.embedding.weight")
            found.append(.init(component: "text_encoder", spec: T5EncoderSpec(umt5 ? .umt5 : .t5), layout: "official", keyPrefix: nil))
        } else if all.contains("encoder.block.0.layer.0.SelfAttention.q.weight") {
            let umt5 = all.contains("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight")
            found.append(.init(component: "text_encoder", spec: T5EncoderSpec(umt5 ? .umt5 : .t5), layout: "transformers", keyPrefix: nil))
        }
        if let override {
            guard let spec = byName.first(where: { $0.family == override })?.spec else { throw ConvertError.unsupportedFamily(override) }
            let matching = found.filter { $0.spec.keyMapName == spec.keyMapName }
            return matching.isEmpty ? [.init(component: (try? KeyMap.named(spec.keyMapName).component) ?? "transformer", spec: spec, layout: "official", keyPrefix: nil)] : matching
        }
        guard !found.isEmpty else {
            throw ConvertError.unknownFamily(files: files, hint: "none of the keys that mark a Wan2.1 or LTX-Video transformer or VAE, or a T5 / umT5 text encoder")
        }
        return found
    }
}
