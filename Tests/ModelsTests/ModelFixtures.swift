import Checkpoints
import Foundation
import Tensors
import VKQ

/// Fixture models converted once per test run, and the diffusers reference tensors.
enum ModelFixtures {
    /// Relative L2 through the one error metric (non-finite → ∞; a length mismatch fails the test).
    static func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
        (try? ErrorMetric.compare(a, b, what: "relativeL2").relativeL2) ?? .infinity
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appending(path: "Fixtures")
    static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appending(path: "vacekit-models-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()
    private static let lock = NSLock()

    /// The Wan VACE fixture (official or diffusers layout) converted with `precision` (cached by name).
    static func wan(_ layout: String = "official", precision: Recipe.Precision, group: Int = 0, perturb: Bool = false) throws -> VKQWeights {
        try lock.withLock {
            let name = "wan-\(layout)-\(precision)-\(group).vkq"
            let output = directory.appending(path: name)
            if !FileManager.default.fileExists(atPath: output.path) {
                let input = layout == "official" ? root.appending(path: "wan_vace/official/diffusion_pytorch_model.safetensors")
                                                 : root.appending(path: "wan_vace/diffusers/transformer")
                _ = try Converter.convert(inputs: [input.path], options: .init(output: output, recipe: Recipe(precision: precision, group: group)))
            }
            return try VKQWeights(url: output)
        }
    }

    /// The Wan VAE fixture (official `.pth` or diffusers folder) converted with `precision` (cached by name).
    static func wanVAE(_ layout: String = "official", precision: Recipe.Precision = .f32) throws -> VKQWeights {
        try lock.withLock {
            let output = directory.appending(path: "wan-vae-\(layout)-\(precision).vkq")
            if !FileManager.default.fileExists(atPath: output.path) {
                let input = layout == "official" ? root.appending(path: "wan_vae/official/Wan2.1_VAE.pth") : root.appending(path: "wan_vae/diffusers/vae")
                _ = try Converter.convert(inputs: [input.path], options: .init(output: output, recipe: Recipe(precision: precision)))
            }
            return try VKQWeights(url: output)
        }
    }

    /// A reference file of Tests/Fixtures/reference as name → (values, shape).
    static func reference(_ name: String) throws -> [String: (values: [Float], shape: [Int])] {
        let file = try SafetensorsFile(url: root.appending(path: "reference/\(name).safetensors"))
        var out: [String: (values: [Float], shape: [Int])] = [:]
        for entry in file.entries { out[entry.name] = (try file.floats(entry.name), entry.shape) }
        return out
    }

}
