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

    /// (official inputs, diffusers inputs, component, family) for every fixture model.
    static let layoutPairs: [([String], [String], String?, String)] = [
        ([official], [diffusers], nil, "wan2.1-vace"),
        ([Fixtures.path("wan_vae/official/Wan2.1_VAE.safetensors")], [Fixtures.path("wan_vae/diffusers/vae")], nil, "wan2.1-vae"),
        ([Fixtures.path("ltx/official/ltx-video-2b-v0.9-tiny.safetensors")], [Fixtures.path("ltx/diffusers")], "transformer", "ltx-video-0.9"),
        ([Fixtures.path("ltx/official/ltx-video-2b-v0.9-tiny.safetensors")], [Fixtures.path("ltx/diffusers")], "vae", "ltx-video-vae-0.9"),
    ]

    @Test(arguments: [(Recipe.Precision.f32, 0), (.q8, 0), (.q8, 32), (.bf16, 0)])
    func officialAndDiffusersLayoutsGiveIdenticalTensors(precision: Recipe.Precision, group: Int) throws {
        for (official, diffusers, component, family) in Self.layoutPairs {
            try compareLayouts(official, diffusers, component: component, family: family, precision: precision, group: group)
        }
    }

    func compareLayouts(_ official: [String], _ diffusers: [String], component: String?, family: String, precision: Recipe.Precision, group: Int) throws {
        let dir = try Fixtures.temporaryDirectory()
        func run(_ inputs: [String], _ name: String) throws -> VKQFile {
            var options = Converter.Options(output: dir.appending(path: name), recipe: try Recipe(precision: precision, group: group), component: component)
            options.parallelism = 2
            _ = try Converter.convert(inputs: inputs, options: options)
            return try VKQFile(url: options.output)
        }
        let a = try run(official, "official.vkq"), b = try run(diffusers, "diffusers.vkq")
        #expect(a.header.family == family && b.header.family == family)
        #expect(a.header.config == b.header.config)
        #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
        for (x, y) in zip(a.tensors, b.tensors) {
            #expect(x.shape == y.shape && x.dtype == y.dtype && x.group == y.group, "\(x.name)")
            #expect(x.data.xxh3 == y.data.xxh3 && x.scales?.xxh3 == y.scales?.xxh3, "\(family) \(x.name): stored bytes differ")
        }
    }

    @Test func vaceLTXIsDetectedFromItsContextBlocks() throws {
        // The LTX fixture plus one VACE context block at layer 0 (a copy of block 0 with its projections).
        let source = try SafetensorsFile(url: Fixtures.url("ltx/official/ltx-video-2b-v0.9-tiny.safetensors"))
        let prefix = "model.diffusion_model."
        var tensors = try source.names.filter { $0.hasPrefix(prefix) }.map { SafetensorsWriter.Tensor(name: $0, shape: source.entry($0)!.shape, floats: try source.floats($0)) }
        for t in tensors where t.name.hasPrefix(prefix + "transformer_blocks.0.") {
            tensors.append(.init(name: t.name.replacingOccurrences(of: "transformer_blocks.0.", with: "transformer_context_blocks.0."), dtype: t.dtype, shape: t.shape, bytes: t.bytes))
        }
        let inner = 64
        for name in ["before_proj", "after_proj"] {
            tensors.append(.init(name: prefix + "transformer_context_blocks.0.\(name).weight", shape: [inner, inner], floats: (0 ..< inner * inner).map { Float($0 % 7) / 7 }))
            tensors.append(.init(name: prefix + "transformer_context_blocks.0.\(name).bias", shape: [inner], floats: .init(repeating: 0.1, count: inner)))
        }
        tensors.append(.init(name: prefix + "patchify_context_proj.weight", shape: [inner, 384], floats: .init(repeating: 0.01, count: inner * 384)))
        tensors.append(.init(name: prefix + "patchify_context_proj.bias", shape: [inner], floats: .init(repeating: 0, count: inner)))
        let dir = try Fixtures.temporaryDirectory()
        let input = dir.appending(path: "vace-ltx.safetensors")
        try SafetensorsWriter(tensors: tensors, metadata: source.metadata).write(to: input)
        let vkq = try convert([input.path], "vace-ltx.vkq", in: dir)
        #expect(vkq.header.family == "vace-ltx-video-0.9")
        #expect(vkq.header.config["context_num_layers"] == .array([.int(0)]))
        #expect(vkq.header.config["in_context_channels"]?.intValue == 384)
        #expect(try vkq.record("transformer_context_blocks.0.attn2.to_k.weight").shape == [64, 64])
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
        // With --allow-nonfinite the tensor is converted as it is (f32 keeps the NaN).
        var options = Converter.Options(output: try Fixtures.temporaryDirectory().appending(path: "nan.vkq"), recipe: try Recipe(precision: .f32))
        options.allowNonfinite = true
        _ = try Converter.convert(inputs: [path], options: options)
        #expect(try VKQFile(url: options.output).floats("blocks.1.self_attn.v.weight")[7].isNaN)
    }

    @Test func inputGivenTwiceOrMixedLayouts() throws {
        try expectConvertError([Self.official, Self.official], containing: ["given twice"])
        try expectConvertError([Self.official, Fixtures.path("wan_vace/diffusers/transformer/diffusion_pytorch_model.safetensors")],
                               containing: ["different models"])
        try expectConvertError([Self.official, Fixtures.path("ltx/official/ltx-video-2b-v0.9-tiny.safetensors")],
                               containing: ["different models", "wan2.1-transformer", "ltx-video-transformer"])
    }

    @Test func unwritableOutputAndMissingInput() throws {
        try expectConvertError([Self.official], containing: ["/nonexistent-dir/out.vkq.tmp"], output: URL(fileURLWithPath: "/nonexistent-dir/out.vkq"))
        try expectConvertError(["/nonexistent/model.safetensors"], containing: ["/nonexistent/model.safetensors", "no such file"])
    }

    @Test func familyDetectionFromKeys() throws {
        func detect(_ keys: [String]) throws -> [String] { try Families.detect(keys: keys, files: []).map(\.label) }
        #expect(try detect(["head.modulation", "blocks.0.modulation"]) == ["wan2.1-transformer (official layout)"])
        #expect(try detect(["model.diffusion_model.head.modulation"]) == ["wan2.1-transformer (official layout)"])
        #expect(try detect(["condition_embedder.time_proj.weight"]) == ["wan2.1-transformer (diffusers layout)"])
        #expect(try detect(["encoder.conv1.weight", "decoder.upsamples.0.residual.0.gamma"]) == ["wan2.1-vae (official layout)"])
        #expect(try detect(["model.diffusion_model.patchify_proj.weight", "vae.encoder.conv_in.conv.weight"])
                == ["ltx-video-transformer (official layout)", "ltx-video-vae (official layout)"])
        #expect(throws: ConvertError.self) { try Families.detect(keys: ["foo.weight"], files: ["x.safetensors"]) }
    }
}
