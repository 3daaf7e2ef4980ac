import Foundation
import Testing
import VKQ
@testable import Checkpoints

@Suite struct ConverterTests {
    static let official = Fixtures.path("wan_vace/official/diffusion_pytorch_model.safetensors")
    static let diffusers = Fixtures.path("wan_vace/diffusers/transformer")

    func convert(_ inputs: [String], _ name: String, precision: Recipe.Precision = .f32, group: Int = 0, zstd: Int32? = nil,
                 in dir: URL) throws -> VKQFile {
        let output = dir.appending(path: name)
        _ = try Converter.convert(inputs: inputs, options: .init(output: output, recipe: Recipe(precision: precision, group: group, zstdLevel: zstd)))
        return try VKQFile(url: output)
    }

    @Test(arguments: [(Recipe.Precision.f32, 0), (.q8, 0), (.q8, 32), (.bf16, 0)])
    func officialAndDiffusersLayoutsGiveIdenticalTensors(precision: Recipe.Precision, group: Int) throws {
        let dir = try Fixtures.temporaryDirectory()
        let a = try convert([Self.official], "official.vkq", precision: precision, group: group, in: dir)
        let b = try convert([Self.diffusers], "diffusers.vkq", precision: precision, group: group, in: dir)
        #expect(a.header.family == "wan2.1-vace" && b.header.family == "wan2.1-vace")
        #expect(a.header.config == b.header.config)
        #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
        for (x, y) in zip(a.tensors, b.tensors) {
            #expect(x.shape == y.shape && x.dtype == y.dtype && x.group == y.group, "\(x.name)")
            #expect(x.data.xxh3 == y.data.xxh3 && x.scales?.xxh3 == y.scales?.xxh3, "\(x.name): stored bytes differ")
        }
    }

    @Test func f32ConversionIsExactAndConfigComesFromTheFile() throws {
        let dir = try Fixtures.temporaryDirectory()
        let vkq = try convert([Self.official], "f32.vkq", in: dir)
        let source = try SafetensorsFile(url: URL(fileURLWithPath: Self.official))
        for name in source.names { #expect(try vkq.floats(name) == source.floats(name), "\(name)") }
        #expect(vkq.header.config["dim"]?.intValue == 64)
        #expect(vkq.header.config["num_heads"]?.intValue == 2)
        #expect(vkq.header.config["vace_layers"] == .array([.int(0), .int(2)]))
        #expect(vkq.header.source.map(\.name) == ["diffusion_pytorch_model.safetensors"])
    }

    @Test func recipeAndQuantizationErrorsAreRecorded() throws {
        let dir = try Fixtures.temporaryDirectory()
        let vkq = try convert([Self.official], "q8.vkq", precision: .q8, group: 32, in: dir)
        let source = try SafetensorsFile(url: URL(fileURLWithPath: Self.official))
        let dtypes = Dictionary(uniqueKeysWithValues: vkq.tensors.map { ($0.name, $0.dtype) })
        #expect(dtypes["blocks.0.self_attn.q.weight"] == "q8")
        #expect(dtypes["vace_blocks.1.after_proj.weight"] == "q8")
        #expect(dtypes["patch_embedding.weight"] == "f16")
        #expect(dtypes["head.head.weight"] == "f16")
        #expect(dtypes["blocks.0.modulation"] == "f32")
        #expect(dtypes["blocks.0.self_attn.q.bias"] == "f32")
        let summary = try #require(vkq.header.converter.quantization)
        #expect(summary.tensors == vkq.tensors.filter { $0.dtype == "q8" }.count)
        #expect(summary.maxRelativeL2 < 3e-2 && summary.maxRelativeL2 > 1e-4, "max q8 error \(summary.maxRelativeL2)")
        // The recorded error is the error of what was stored.
        let record = try vkq.record("blocks.1.ffn.2.weight")
        let decoded = try vkq.floats(record.name), original = try source.floats(record.name)
        let num = zip(decoded, original).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        let den = original.reduce(0.0) { $0 + Double($1) * Double($1) }
        #expect(abs((num / den).squareRoot() - record.quantizationError!) < 1e-6)
    }

    @Test func zstdShrinksQ8AndKeepsTheTensors() throws {
        let dir = try Fixtures.temporaryDirectory()
        let plain = try convert([Self.official], "plain.vkq", precision: .f16, in: dir)
        let packed = try convert([Self.official], "zstd.vkq", precision: .f16, zstd: 5, in: dir)
        for record in plain.tensors { #expect(try packed.floats(record.name) == plain.floats(record.name)) }
        try packed.verify()
    }

    // MARK: bad inputs

    /// The official fixture, changed by `edit`, written with its config.json into a fresh folder.
    func editedCopy(_ edit: (inout [SafetensorsWriter.Tensor]) -> Void) throws -> String {
        let dir = try Fixtures.temporaryDirectory()
        let source = try SafetensorsFile(url: URL(fileURLWithPath: Self.official))
        var tensors = try source.names.map { SafetensorsWriter.Tensor(name: $0, shape: source.entry($0)!.shape, floats: try source.floats($0)) }
        edit(&tensors)
        let url = dir.appending(path: "model.safetensors")
        try SafetensorsWriter(tensors: tensors).write(to: url)
        try FileManager.default.copyItem(at: Fixtures.url("wan_vace/official/config.json"), to: dir.appending(path: "config.json"))
        return url.path
    }

    func expectConvertError(_ inputs: [String], containing parts: [String], output: URL? = nil) throws {
        let dir = try Fixtures.temporaryDirectory()
        let out = output ?? dir.appending(path: "out.vkq")
        #expect(performing: {
            _ = try Converter.convert(inputs: inputs, options: .init(output: out, recipe: Recipe()))
        }, throws: { error in
            let text = "\(error)"
            return parts.allSatisfy { text.contains($0) }
        })
        #expect(!FileManager.default.fileExists(atPath: out.path), "a failed conversion must leave no output")
        #expect(!FileManager.default.fileExists(atPath: out.path + ".tmp"))
    }

    @Test func unknownTensorIsNamed() throws {
        let path = try editedCopy { $0.append(.init(name: "blocks.0.extra.weight", shape: [2], floats: [1, 2])) }
        try expectConvertError([path], containing: ["blocks.0.extra.weight", "not known"])
    }

    @Test func missingTensorIsNamed() throws {
        let path = try editedCopy { $0.removeAll { $0.name == "blocks.3.cross_attn.norm_k.weight" } }
        try expectConvertError([path], containing: ["blocks.3.cross_attn.norm_k.weight", "missing"])
    }

    @Test func shapeDisagreeingWithTheConfigIsNamed() throws {
        let path = try editedCopy { tensors in
            let i = tensors.firstIndex { $0.name == "blocks.2.ffn.0.bias" }!
            tensors[i] = .init(name: "blocks.2.ffn.0.bias", shape: [127], floats: .init(repeating: 0, count: 127))
        }
        try expectConvertError([path], containing: ["blocks.2.ffn.0.bias", "[127]", "[128]"])
    }

    @Test func nonFiniteWeightsStopTheConversion() throws {
        let path = try editedCopy { tensors in
            let i = tensors.firstIndex { $0.name == "blocks.1.self_attn.v.weight" }!
            var values = tensors[i].bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            values[7] = .nan
            tensors[i] = .init(name: tensors[i].name, shape: tensors[i].shape, floats: values)
        }
        try expectConvertError([path], containing: ["blocks.1.self_attn.v.weight", "NaN", "--allow-nonfinite"])
    }

    @Test func inputGivenTwiceOrMixedLayouts() throws {
        try expectConvertError([Self.official, Self.official], containing: ["given twice"])
        try expectConvertError([Self.official, Fixtures.path("wan_vace/diffusers/transformer/diffusion_pytorch_model.safetensors")],
                               containing: ["different models"])
    }

    @Test func unwritableOutputAndMissingInput() throws {
        try expectConvertError([Self.official], containing: ["/nonexistent-dir/out.vkq.tmp"], output: URL(fileURLWithPath: "/nonexistent-dir/out.vkq"))
        try expectConvertError(["/nonexistent/model.safetensors"], containing: ["/nonexistent/model.safetensors", "no such file"])
    }

    @Test func ltxIsRecognisedButNotYetConverted() throws {
        try expectConvertError([Fixtures.path("ltx/official/ltx-video-2b-v0.9-tiny.safetensors")], containing: ["ltx-video-0.9", "not supported"])
    }

    @Test func familyDetectionFromKeys() throws {
        #expect(try Families.detect(keys: ["head.modulation", "blocks.0.modulation"], files: []).family == "wan2.1-t2v")
        #expect(try Families.detect(keys: ["model.diffusion_model.head.modulation", "model.diffusion_model.vace_blocks.0.after_proj.bias"], files: []).family == "wan2.1-vace")
        let diffusers = try Families.detect(keys: ["condition_embedder.time_proj.weight", "vace_blocks.0.proj_out.bias"], files: [])
        #expect(diffusers.family == "wan2.1-vace" && diffusers.layout == "diffusers")
        #expect(throws: ConvertError.self) { try Families.detect(keys: ["foo.weight"], files: ["x.safetensors"]) }
    }
}
