import Foundation
import Testing
@testable import Checkpoints

/// A Hugging Face cache keeps each file once in `blobs/<hash>` and links `snapshots/<revision>/<name>` to it:
/// the config and the shards of a linked weight file are beside the link.
@Suite struct HuggingFaceCacheTests {
    /// snapshots/rev/{diffusion_pytorch_model.safetensors, config.json} → ../../blobs/<hash>
    static func cache() throws -> URL {
        let root = try Fixtures.temporaryDirectory(), fm = FileManager.default
        let blobs = root.appending(path: "blobs"), snapshot = root.appending(path: "snapshots/rev")
        try fm.createDirectory(at: blobs, withIntermediateDirectories: true)
        try fm.createDirectory(at: snapshot, withIntermediateDirectories: true)
        for (name, hash) in [("diffusion_pytorch_model.safetensors", "5f1e"), ("config.json", "9ab2")] {
            try fm.copyItem(at: Fixtures.url("wan_vace/official/\(name)"), to: blobs.appending(path: hash))
            try fm.createSymbolicLink(atPath: snapshot.appending(path: name).path, withDestinationPath: "../../blobs/\(hash)")
        }
        return snapshot
    }

    @Test func aLinkedWeightFileFindsTheConfigBesideTheLink() throws {
        let snapshot = try Self.cache()
        // The tiny model's width (64) is no released Wan2.1 width: without its config.json the converter refuses it.
        let set = try CheckpointSet.open([snapshot.appending(path: "diffusion_pytorch_model.safetensors").path])
        #expect(set.configs.count == 1)
        let output = snapshot.deletingLastPathComponent().appending(path: "out.vkq")
        _ = try Converter.convert(inputs: [snapshot.appending(path: "diffusion_pytorch_model.safetensors").path],
                                  options: .init(output: output, recipe: Recipe(precision: .f32)))
        #expect(FileManager.default.fileExists(atPath: output.path))
    }

    @Test func theSameBlobThroughTwoLinksIsGivenTwice() throws {
        let snapshot = try Self.cache()
        let link = snapshot.appending(path: "diffusion_pytorch_model.safetensors").path
        let other = snapshot.appending(path: "copy.safetensors").path
        try FileManager.default.createSymbolicLink(atPath: other, withDestinationPath: "../../blobs/5f1e")
        #expect(throws: ConvertError.self) { _ = try CheckpointSet.open([link, other]) }
    }
}
