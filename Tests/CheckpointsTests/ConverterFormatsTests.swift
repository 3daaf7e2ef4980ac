import Foundation
import Testing
import VKQ
@testable import Checkpoints

/// The converter fed through the other readers: .pth and GGUF.
@Suite struct ConverterFormatsTests {
    func convert(_ inputs: [String], _ output: URL, _ recipe: Recipe) throws -> (VKQFile, Converter.Report) {
        let report = try Converter.convert(inputs: inputs, options: .init(output: output, recipe: recipe))
        return (try VKQFile(url: output), report)
    }

    @Test func wanVAEFromPthMatchesSafetensors() throws {
        let dir = try Fixtures.temporaryDirectory()
        let (pth, _) = try convert([Fixtures.path("wan_vae/official/Wan2.1_VAE.pth")], dir.appending(path: "pth.vkq"), Recipe(precision: .f32))
        let (st, _) = try convert([Fixtures.path("wan_vae/official/Wan2.1_VAE.safetensors")], dir.appending(path: "st.vkq"), Recipe(precision: .f32))
        #expect(pth.header.family == "wan2.1-vae")
        #expect(pth.header.config == st.header.config)
        #expect(pth.tensors.map(\.name) == st.tensors.map(\.name))
        for (a, b) in zip(pth.tensors, st.tensors) { #expect(a.data.xxh3 == b.data.xxh3, "\(a.name)") }
    }

    /// The Wan fixture as a GGUF file: the blocks' linear matrices in Q8_0 (quantized here exactly as the
    /// converter would with group 32), the rest F32 (5-D kernels flattened with ComfyUI's orig_shape key).
    func wanAsGGUF(in dir: URL, lossyTensor: String? = nil) throws -> URL {
        let source = try SafetensorsFile(url: Fixtures.url("wan_vace/official/diffusion_pytorch_model.safetensors"))
        var writer = GGUFWriterForTests()
        for name in source.names {
            let shape = source.entry(name)!.shape
            let values = try source.floats(name)
            if shape.count == 2, shape[1] % 32 == 0, name.hasPrefix("blocks.") || name.hasPrefix("vace_blocks.") {
                if name == lossyTensor {
                    // Q4_0 with every nibble 8 (= 0) and scale 0: a lossy type the converter must warn about.
                    let blocks = shape[0] * shape[1] / 32
                    writer.add(name, ne: [UInt64(shape[1]), UInt64(shape[0])], type: 2, data: [UInt8](repeating: 0x88, count: blocks * 18).enumerated().map { $0.offset % 18 < 2 ? 0 : $0.element })
                    continue
                }
                let q = Quantization.quantizeQ8(values, rows: shape[0], columns: shape[1], group: 32)
                var data: [UInt8] = []
                for block in 0 ..< q.scales.count {
                    data += q8_0Block(scale: q.scales[block], Array(q.values[block * 32 ..< block * 32 + 32]))
                }
                writer.add(name, ne: [UInt64(shape[1]), UInt64(shape[0])], type: 8, data: data)
            } else {
                let stored = shape.count > 4 ? [shape[0], shape.dropFirst().reduce(1, *)] : shape
                if shape.count > 4 { writer.values.append(("comfy.gguf.orig_shape." + name, .array(.int32, shape.map { .int32(Int32($0)) }))) }
                writer.add(name, ne: stored.reversed().map(UInt64.init), type: 0, data: littleEndianBytes(values))
            }
        }
        let url = dir.appending(path: "wan.gguf")
        try Data(writer.serialized()).write(to: url)
        try FileManager.default.copyItem(at: Fixtures.url("wan_vace/official/config.json"), to: dir.appending(path: "config.json"))
        return url
    }

    @Test func ggufQ8_0IsCopiedWithoutRequantizing() throws {
        let dir = try Fixtures.temporaryDirectory()
        let gguf = try wanAsGGUF(in: dir)
        let recipe = try Recipe(precision: .q8, group: 32)
        let (fromGGUF, report) = try convert([gguf.path], dir.appending(path: "gguf.vkq"), recipe)
        let (fromST, _) = try convert([Fixtures.path("wan_vace/official/diffusion_pytorch_model.safetensors")], dir.appending(path: "st.vkq"), recipe)
        #expect(fromGGUF.header.family == "wan2.1-vace")
        #expect(report.warnings.allSatisfy { !$0.contains("bounded") })
        let q = try fromGGUF.record("blocks.2.ffn.0.weight")
        #expect(q.dtype == "q8" && q.group == 32 && q.sourceDType == "Q8_0" && q.quantizationError == 0)
        // Same blocks as quantizing the f32 source directly: nothing was rounded twice.
        for (a, b) in zip(fromGGUF.tensors, fromST.tensors) {
            #expect(a.name == b.name && a.dtype == b.dtype)
            #expect(a.data.xxh3 == b.data.xxh3 && a.scales?.xxh3 == b.scales?.xxh3, "\(a.name)")
        }
    }

    @Test func lossyGGUFSourcesAreReported() throws {
        let dir = try Fixtures.temporaryDirectory()
        let gguf = try wanAsGGUF(in: dir, lossyTensor: "blocks.0.ffn.2.weight")
        let (_, report) = try convert([gguf.path], dir.appending(path: "lossy.vkq"), Recipe())
        #expect(report.warnings.contains { $0.contains("Q4_0") && $0.contains("bounded") })
    }
}
