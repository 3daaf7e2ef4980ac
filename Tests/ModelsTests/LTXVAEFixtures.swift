import Checkpoints
import Foundation
import Tensors
import VKQ

/// The LTX-Video VAE fixtures converted once per test run: the 0.9 VAE of Tests/Fixtures/ltx and the
/// 0.9.1 / 0.9.5 VAEs of Tests/Fixtures/ltx_vae (converters/reference/make_ltx_vae_fixtures.py).
enum LTXVAEFixtures {
    private static let lock = NSLock()

    /// Input paths of `version` in `layout` (`official`: the single file; `diffusers`: the vae folder).
    static func inputs(_ version: String, _ layout: String) -> [String] {
        let root = ModelFixtures.root
        switch (version, layout) {
        case ("0.9", "official"): return [root.appending(path: "ltx/official/ltx-video-2b-v0.9-tiny.safetensors").path]
        case ("0.9", _): return [root.appending(path: "ltx/diffusers/vae").path]
        case (_, "official"): return [root.appending(path: "ltx_vae/\(version)/official/ltx-video-vae-\(version)-tiny.safetensors").path]
        default: return [root.appending(path: "ltx_vae/\(version)/diffusers/vae").path]
        }
    }

    static func vae(_ version: String = "0.9", _ layout: String = "official", precision: Recipe.Precision = .f32) throws -> VKQWeights {
        try lock.withLock {
            let output = ModelFixtures.directory.appending(path: "ltxvae-\(version)-\(layout)-\(precision).vkq")
            if !FileManager.default.fileExists(atPath: output.path) {
                _ = try Converter.convert(inputs: inputs(version, layout), options: .init(output: output, recipe: Recipe(precision: precision), component: "vae"))
            }
            return try VKQWeights(url: output)
        }
    }

    /// A reference file as name → (values, shape): `reference/ltx_vae` (0.9) or `ltx_vae/<version>/reference`.
    static func reference(_ version: String) throws -> [String: (values: [Float], shape: [Int])] {
        if version == "0.9" { return try ModelFixtures.reference("ltx_vae") }
        let file = try SafetensorsFile(url: ModelFixtures.root.appending(path: "ltx_vae/\(version)/reference.safetensors"))
        var out: [String: (values: [Float], shape: [Int])] = [:]
        for entry in file.entries { out[entry.name] = (try file.floats(entry.name), entry.shape) }
        return out
    }
}
