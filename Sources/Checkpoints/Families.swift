import VKQ

/// Which model a set of tensors is, told from its keys (never from file names).
public struct DetectedFamily: Sendable {
    /// e.g. `wan2.1-vace`.
    public var family: String
    /// The key map (converters/<keyMap>.json) that renames and checks its tensors.
    public var keyMap: String
    /// `official` or `diffusers`.
    public var layout: String
}

public enum Families {
    public static let supported = ["wan2.1-t2v", "wan2.1-vace"]

    /// Detects the family from the keys (with any `model.diffusion_model.` style prefix already allowed for).
    /// `override` (`--family`) wins, but the layout is still read from the keys.
    public static func detect(keys: [String], files: [String], override: String? = nil) throws -> DetectedFamily {
        let stripped = Set(keys.map { key in
            for prefix in ["model.diffusion_model.", "diffusion_model."] where key.hasPrefix(prefix) { return String(key.dropFirst(prefix.count)) }
            return key
        })
        let wanOfficial = stripped.contains("head.modulation")
        let wanDiffusers = stripped.contains("condition_embedder.time_proj.weight")
        if let override {
            guard supported.contains(override) else { throw ConvertError.unsupportedFamily(override) }
            return DetectedFamily(family: override, keyMap: "wan2.1-transformer", layout: wanDiffusers ? "diffusers" : "official")
        }
        if wanOfficial || wanDiffusers {
            if wanOfficial && wanDiffusers { throw ConvertError.mixedFamilies(["Wan2.1 official layout", "Wan2.1 diffusers layout"]) }
            let vace = stripped.contains("vace_blocks.0.after_proj.bias") || stripped.contains("vace_blocks.0.proj_out.bias")
            return DetectedFamily(family: vace ? "wan2.1-vace" : "wan2.1-t2v", keyMap: "wan2.1-transformer",
                                  layout: wanOfficial ? "official" : "diffusers")
        }
        // Recognised but not converted by this build yet: say so rather than "unknown".
        if stripped.contains("patchify_proj.weight") || keys.contains(where: { $0.hasPrefix("vae.") }) || stripped.contains("proj_in.weight") {
            throw ConvertError.unsupportedFamily(stripped.contains("patchify_context_proj.weight") ? "vace-ltx-video-0.9" : "ltx-video-0.9")
        }
        if stripped.contains("encoder.conv1.weight") || stripped.contains("decoder.conv_in.weight") {
            throw ConvertError.unsupportedFamily("wan2.1-vae")
        }
        throw ConvertError.unknownFamily(files: files, hint: "no head.modulation or condition_embedder.time_proj.weight: not a Wan2.1 transformer")
    }
}
