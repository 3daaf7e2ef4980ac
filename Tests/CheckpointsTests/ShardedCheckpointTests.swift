import Foundation
import Testing
import VKQ
@testable import Checkpoints

/// A checkpoint split into shards with a `*.safetensors.index.json`, as the 14B releases ship.
@Suite struct ShardedCheckpointTests {
    /// The official Wan fixture written as two shards + index + config.json in a fresh folder.
    func shardedCopy(dropFromIndex: String? = nil) throws -> URL {
        let dir = try Fixtures.temporaryDirectory()
        let source = try SafetensorsFile(url: Fixtures.url("wan_vace/official/diffusion_pytorch_model.safetensors"))
        var shards: [[SafetensorsWriter.Tensor]] = [[], []]
        var weightMap: [String: String] = [:]
        for (i, name) in source.names.enumerated() {
            let shard = i % 2
            shards[shard].append(.init(name: name, shape: source.entry(name)!.shape, floats: try source.floats(name)))
            weightMap[name] = "diffusion_pytorch_model-0000\(shard + 1)-of-00002.safetensors"
        }
        for (i, tensors) in shards.enumerated() {
            try SafetensorsWriter(tensors: tensors).write(to: dir.appending(path: "diffusion_pytorch_model-0000\(i + 1)-of-00002.safetensors"))
        }
        if let dropped = dropFromIndex { weightMap[dropped] = nil }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 0], "weight_map": weightMap], options: [.sortedKeys])
        try index.write(to: dir.appending(path: "diffusion_pytorch_model.safetensors.index.json"))
        try FileManager.default.copyItem(at: Fixtures.url("wan_vace/official/config.json"), to: dir.appending(path: "config.json"))
        return dir
    }

    @Test func shardedFolderConvertsLikeTheSingleFile() throws {
        let dir = try shardedCopy()
        let out = try Fixtures.temporaryDirectory()
        let recipe = try Recipe(precision: .q8, group: 32)
        _ = try Converter.convert(inputs: [dir.path], options: .init(output: out.appending(path: "sharded.vkq"), recipe: recipe))
        _ = try Converter.convert(inputs: [Fixtures.path("wan_vace/official/diffusion_pytorch_model.safetensors")],
                                  options: .init(output: out.appending(path: "single.vkq"), recipe: recipe))
        let (a, b) = (try VKQFile(url: out.appending(path: "sharded.vkq")), try VKQFile(url: out.appending(path: "single.vkq")))
        #expect(a.header.source.count == 2)
        #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
        for (x, y) in zip(a.tensors, b.tensors) { #expect(x.data.xxh3 == y.data.xxh3, "\(x.name)") }
        // The index file given directly works the same way.
        _ = try Converter.convert(inputs: [dir.appending(path: "diffusion_pytorch_model.safetensors.index.json").path],
                                  options: .init(output: out.appending(path: "index.vkq"), recipe: recipe))
    }

    @Test func aShardListedInTheIndexButAbsentIsNamed() throws {
        // A tensor the index forgets is still read from its shard (the shards are the data)...
        let dir = try shardedCopy(dropFromIndex: "blocks.0.ffn.0.bias")
        let out = try Fixtures.temporaryDirectory().appending(path: "x.vkq")
        _ = try Converter.convert(inputs: [dir.path], options: .init(output: out, recipe: Recipe()))
        // ...but a shard the index lists and the folder lacks is an error naming it.
        try FileManager.default.removeItem(at: dir.appending(path: "diffusion_pytorch_model-00002-of-00002.safetensors"))
        #expect(performing: { _ = try Converter.convert(inputs: [dir.path], options: .init(output: out, recipe: Recipe())) },
                throws: { "\($0)".contains("diffusion_pytorch_model-00002-of-00002.safetensors") })
    }
}
