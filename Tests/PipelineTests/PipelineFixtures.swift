import Checkpoints
import Foundation
import Tensors
import VKQ
import VulkanBackend
import XCTest

/// The fixture files of the pipeline tests.
enum PipelineFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appending(path: "Fixtures")
    static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appending(path: "vacekit-pipeline-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()
    private static let lock = NSLock()

    /// The Vulkan device of the end-to-end runs (lavapipe in CI), opened once; without one the test is skipped,
    /// or fails when `VACEKIT_REQUIRE_VULKAN=1` (.ci/run).
    static func vulkanDevice() throws -> VulkanDevice {
        switch device {
        case .success(let device): return device
        case .failure(let error):
            if ProcessInfo.processInfo.environment["VACEKIT_REQUIRE_VULKAN"] == "1" { throw error }
            throw XCTSkip("no Vulkan device (install mesa-vulkan-drivers for lavapipe): \(error)")
        }
    }
    private static let device = Result { try VulkanDevice() }

    /// The tiny Wan VAE fixture (official .pth) converted to f32 (cached per test run).
    static func wanVAE() throws -> VKQWeights {
        try lock.withLock {
            let output = directory.appending(path: "wan-vae-f32.vkq")
            if !FileManager.default.fileExists(atPath: output.path) {
                let input = root.appending(path: "wan_vae/official/Wan2.1_VAE.pth")
                _ = try Converter.convert(inputs: [input.path], options: .init(output: output, recipe: Recipe(precision: .f32)))
            }
            return try VKQWeights(url: output)
        }
    }

    /// A safetensors file as name → (values, shape).
    static func tensors(_ relativePath: String) throws -> [String: (values: [Float], shape: [Int])] {
        let file = try SafetensorsFile(url: root.appending(path: relativePath))
        var out: [String: (values: [Float], shape: [Int])] = [:]
        for entry in file.entries { out[entry.name] = (try file.floats(entry.name), entry.shape) }
        return out
    }

    /// The tiny Wan VACE transformer fixture converted with `precision` (cached per test run).
    static func wan(precision: Recipe.Precision, group: Int = 0) throws -> VKQWeights {
        try lock.withLock {
            let output = directory.appending(path: "wan-\(precision)-\(group).vkq")
            if !FileManager.default.fileExists(atPath: output.path) {
                let input = root.appending(path: "wan_vace/official/diffusion_pytorch_model.safetensors")
                _ = try Converter.convert(inputs: [input.path], options: .init(output: output, recipe: Recipe(precision: precision, group: group)))
            }
            return try VKQWeights(url: output)
        }
    }
}
/// The LTX-Video generation fixture (Tests/Fixtures/ltx_generate, converters/reference/make_ltx_generate_fixtures.py):
/// one single file with a tiny transformer and a timestep-conditioned VAE, converted once per run.
enum LTXGenerateFixtures {
    private static let lock = NSLock()

    /// `component` of the T2V single file, or (`vace`) the VACE-LTX transformer.
    static func weights(_ component: String, vace: Bool = false, precision: Recipe.Precision = .f32, group: Int = 0) throws -> VKQWeights {
        try lock.withLock {
            let output = PipelineFixtures.directory.appending(path: "ltx-generate-\(vace ? "vace-" : "")\(component)-\(precision)-\(group).vkq")
            if !FileManager.default.fileExists(atPath: output.path) {
                let input = PipelineFixtures.root.appending(path: vace ? "ltx_generate/vace-ltx-video-0.9-tiny.safetensors" : "ltx_generate/ltx-video-0.9.1-tiny.safetensors")
                _ = try Converter.convert(inputs: [input.path], options: .init(output: output, recipe: Recipe(precision: precision, group: group), component: component))
            }
            return try VKQWeights(url: output)
        }
    }

    /// Token layout `[1, N, C]` (n = f·H·W + h·W + w) → latent layout `[1, C, F, H, W]` values.
    static func latents(fromTokens v: [Float], channels: Int) -> [Float] {
        let tokens = v.count / channels
        var out = v
        for n in 0 ..< tokens { for c in 0 ..< channels { out[c * tokens + n] = v[n * channels + c] } }
        return out
    }
}
