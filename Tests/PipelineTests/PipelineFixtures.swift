import Checkpoints
import Foundation
import Tensors
import VKQ

/// The fixture files of the pipeline tests.
enum PipelineFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appending(path: "Fixtures")
    static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appending(path: "vacekit-pipeline-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()
    private static let lock = NSLock()

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
