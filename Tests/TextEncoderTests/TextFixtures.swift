import Checkpoints
import Foundation
import Tensors
import VKQ

/// The text-encoder fixtures (converters/reference/make_text_fixtures.py → Tests/Fixtures/text),
/// converted once per test run.
enum TextFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "Fixtures/text")
    static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appending(path: "vacekit-text-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()
    private static let lock = NSLock()

    /// `umt5` or `t5` from the HF folder (weights and spiece.model in one folder), or `umt5` from the
    /// Wan .pth with the spiece.model file beside it (`layout: "official"`).
    static func weights(_ model: String, layout: String = "transformers", precision: Recipe.Precision, group: Int = 0,
                        keep: [String] = []) throws -> VKQWeights {
        try lock.withLock {
            let output = directory.appending(path: "\(model)-\(layout)-\(precision)-\(group)-\(keep.joined()).vkq")
            if !FileManager.default.fileExists(atPath: output.path) {
                let inputs = layout == "official" ? [root.appending(path: "umt5_wan.pth").path, root.appending(path: "umt5_hf/spiece.model").path]
                                                  : [root.appending(path: "\(model)_hf").path]
                _ = try Converter.convert(inputs: inputs, options: .init(output: output, recipe: Recipe(precision: precision, group: group, keep: keep)))
            }
            return try VKQWeights(url: output)
        }
    }

    /// A safetensors file of the fixture directory as name → (values, shape).
    static func tensors(_ name: String) throws -> [String: (values: [Float], shape: [Int])] {
        let file = try SafetensorsFile(url: root.appending(path: name))
        var out: [String: (values: [Float], shape: [Int])] = [:]
        for entry in file.entries { out[entry.name] = (try file.floats(entry.name), entry.shape) }
        return out
    }

    struct Prompts: Decodable { var prompts: [String]; var cleaned: [String] }
    static func prompts(_ model: String) throws -> Prompts {
        try JSONDecoder().decode(Prompts.self, from: Data(contentsOf: root.appending(path: "\(model)_prompts.json")))
    }
}
