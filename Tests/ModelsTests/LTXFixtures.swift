import Checkpoints
import Foundation
import Tensors
import VKQ

/// The LTX-Video fixtures (Tests/Fixtures/ltx: diffusers' LTXVideoTransformer3DModel, tiny, random) and
/// the VACE-LTX fixture (Tests/Fixtures/ltx_vace: the original VACE code), converted once per run.
enum LTXFixtures {
    private static let lock = NSLock()

    /// The LTX-Video fixture transformer converted with `precision` from the single file ("official")
    /// or the diffusers folder.
    static func ltx(_ layout: String = "official", precision: Recipe.Precision, group: Int = 0) throws -> VKQWeights {
        let input = layout == "official" ? "ltx/official/ltx-video-2b-v0.9-tiny.safetensors" : "ltx/diffusers/transformer"
        return try convert(input, name: "ltx-\(layout)-\(precision)-\(group).vkq", precision: precision, group: group)
    }

    /// The VACE-LTX fixture transformer (single-file layout) converted with `precision`.
    static func vace(precision: Recipe.Precision, group: Int = 0) throws -> VKQWeights {
        try convert("ltx_vace/vace-ltx-video-0.9-tiny.safetensors", name: "vace-ltx-\(precision)-\(group).vkq", precision: precision, group: group)
    }

    private static func convert(_ input: String, name: String, precision: Recipe.Precision, group: Int) throws -> VKQWeights {
        try lock.withLock {
            let output = ModelFixtures.directory.appending(path: name)
            if !FileManager.default.fileExists(atPath: output.path) {
                _ = try Converter.convert(inputs: [ModelFixtures.root.appending(path: input).path],
                                          options: .init(output: output, recipe: Recipe(precision: precision, group: group), component: "transformer"))
            }
            return try VKQWeights(url: output)
        }
    }

    /// A reference file of Tests/Fixtures/ltx_vace as name → (values, shape).
    static func vaceReference() throws -> [String: (values: [Float], shape: [Int])] {
        let file = try SafetensorsFile(url: ModelFixtures.root.appending(path: "ltx_vace/vace_ltx_forward.safetensors"))
        var out: [String: (values: [Float], shape: [Int])] = [:]
        for entry in file.entries {
            if entry.dtype == .i32 {  // stg_skip_layers_<case>
                let ints = try file.data(entry.name).withMemoryRebound(to: Int32.self) { Array($0) }
                out[entry.name] = (ints.map { Float(Int32(littleEndian: $0)) }, entry.shape)
            } else {
                out[entry.name] = (try file.floats(entry.name), entry.shape)
            }
        }
        return out
    }

    /// Tokens `[B, N, C]` (n = f·H·W + h·W + w) ↔ video `[B, C, F, H, W]` values, for the references
    /// stored in token layout.
    static func video(fromTokens v: [Float], batch: Int, tokens: Int, channels: Int) -> [Float] {
        var out = v
        for b in 0 ..< batch { for n in 0 ..< tokens { for c in 0 ..< channels { out[(b * channels + c) * tokens + n] = v[(b * tokens + n) * channels + c] } } }
        return out
    }

    static func tokens(fromVideo v: [Float], batch: Int, tokens: Int, channels: Int) -> [Float] {
        var out = v
        for b in 0 ..< batch { for n in 0 ..< tokens { for c in 0 ..< channels { out[(b * tokens + n) * channels + c] = v[(b * channels + c) * tokens + n] } } }
        return out
    }
}
