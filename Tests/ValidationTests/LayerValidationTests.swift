import CPUBackend
import Checkpoints
import Foundation
import Models
import Tensors
import Testing
import TestSupport
import VKQ
@testable import Validation

/// Fixture models converted once per run, and a weight provider that changes one tensor.
enum ValidationFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appending(path: "Fixtures")
    /// dump_reference.py on the Wan fixture (official layout), random inputs 2×4×6 (`make validate-fixtures`).
    static let dumpURL = root.appending(path: "validate/wan_vace_dump.safetensors")
    static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appending(path: "vacekit-validate-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()
    private static let lock = NSLock()

    static func wan(_ precision: Recipe.Precision, group: Int = 0) throws -> VKQWeights {
        try lock.withLock {
            let output = directory.appending(path: "wan-\(precision)-\(group).vkq")
            if !FileManager.default.fileExists(atPath: output.path) {
                let input = root.appending(path: "wan_vace/official/diffusion_pytorch_model.safetensors")
                _ = try Converter.convert(inputs: [input.path], options: .init(output: output, recipe: Recipe(precision: precision, group: group)))
            }
            return try VKQWeights(url: output)
        }
    }

    /// The LTX-Video fixture (single file) or the VACE-LTX fixture, converted with `precision`.
    static func ltx(vace: Bool, _ precision: Recipe.Precision = .f32) throws -> VKQWeights {
        try lock.withLock {
            let output = directory.appending(path: "\(vace ? "vace-ltx" : "ltx")-\(precision).vkq")
            if !FileManager.default.fileExists(atPath: output.path) {
                let input = root.appending(path: vace ? "ltx_vace/vace-ltx-video-0.9-tiny.safetensors" : "ltx/official/ltx-video-2b-v0.9-tiny.safetensors")
                _ = try Converter.convert(inputs: [input.path], options: .init(output: output, recipe: Recipe(precision: precision), component: "transformer"))
            }
            return try VKQWeights(url: output)
        }
    }

    /// A fixture model (path under Tests/Fixtures: a file or a folder, and `also` beside it, e.g. a tokenizer)
    /// converted in f32, cached by `name`.
    static func converted(_ input: String, also: [String] = [], name: String, component: String? = nil) throws -> VKQWeights {
        try lock.withLock {
            let output = directory.appending(path: "\(name).vkq")
            if !FileManager.default.fileExists(atPath: output.path) {
                _ = try Converter.convert(inputs: ([input] + also).map { root.appending(path: $0).path },
                                          options: .init(output: output, recipe: Recipe(precision: .f32), component: component))
            }
            return try VKQWeights(url: output)
        }
    }

    /// Whether the CPU backend meets q8 weights with int8 activations (W8A8) on this machine.
    static let int8Activations = QuantizedMatmul.Mode.environment == .w8a8

    /// Validates `weights` (or a changed copy) on the fixture dump.
    static func report(_ weights: VKQWeights, changing name: String? = nil, by change: @escaping @Sendable ([Float]) -> [Float] = { $0 },
                       dump: URL = dumpURL, noiseFloor: Double, bound: Double? = nil) throws -> LayerReport {
        let backend = CPUBackend()
        let provider: any WeightProvider = try name.map { try PerturbedWeights(base: weights, name: $0, change: change) } ?? weights
        let target = try ValidationTargets.make(family: weights.family, component: weights.file.header.component, weights: provider, backend: backend)
        return try LayerValidation.run(target, dump: try ReferenceDump(url: dump), backend: backend, noiseFloor: noiseFloor, bound: bound)
    }

    /// A copy of the fixture dump with its tensors changed by `edit` (name → (values, shape), nil drops it).
    static func editedDump(from source: URL = dumpURL, renaming: [String: String] = [:],
                           _ edit: (String, [Float], [Int]) -> ([Float], [Int])? = { ($1, $2) }) throws -> URL {
        let file = try SafetensorsFile(url: source)
        var writer = SafetensorsWriter()
        for entry in file.entries {
            if let (values, shape) = edit(entry.name, try file.floats(entry.name), entry.shape) {
                writer.tensors.append(.init(name: renaming[entry.name] ?? entry.name, shape: shape, floats: values))
            }
        }
        let url = directory.appending(path: "edited-\(UUID().uuidString).safetensors")
        try writer.write(to: url)
        return url
    }
}

/// `vacekit validate` layer by layer on a dump made by converters/reference/dump_reference.py from the Wan
/// fixture (diffusers WanVACETransformer3DModel, float32 CPU).
@Suite struct LayerValidationTests {
    static let f32Floor = LayerReport.noiseFloor(weights: "f32")
    /// The f32 output bound: measured 3.4e-6.
    static let f32Bound = 5e-6
    /// The q8 (per-row scales) output bound: measured 5.6e-3 with 16-bit activations (W8A16), 8.7e-3 with
    /// int8 ones (W8A8, the automatic mode on AVX-512 VNNI).
    static let q8Bound = ValidationFixtures.int8Activations ? 1.0e-2 : 8e-3
    static let q8Floor = LayerReport.noiseFloor(weights: "q8", int8Activations: ValidationFixtures.int8Activations)

    static func show(_ label: String, _ report: LayerReport) {
        print("\(label):\n" + report.table())
    }

    @Test func f32MatchesTheDumpAtEveryPointWithNoJump() throws {
        let report = try ValidationFixtures.report(try ValidationFixtures.wan(.f32), noiseFloor: Self.f32Floor, bound: Self.f32Bound)
        Self.show("f32", report)
        #expect(report.points.map(\.name) == ["time_embedding", "text_embedding", "patch_embedding", "vace_blocks.0", "blocks.0",
                                              "blocks.1", "vace_blocks.1", "blocks.2", "blocks.3", "head"])
        #expect(report.firstJump == nil)
        #expect(report.pass)
        // Measured: time_embedding 7.3e-6 (diffusers computes the sinusoid in float32, the original Wan2.1 code and
        // VaceKit in float64), the blocks 1.2e-6 … 2.1e-6, the output 3.4e-6.
        for point in report.points { #expect(point.error.relativeL2 <= 1e-5 && point.error.cosine > 0.999_999, "\(point.name): \(point.error)") }
    }

    @Test func q8Reports() throws {
        let weights = try ValidationFixtures.wan(.q8)
        let report = try ValidationFixtures.report(weights, noiseFloor: Self.q8Floor, bound: Self.q8Bound)
        Self.show("q8", report)
        #expect(report.points.count == 10)
        #expect(report.pass, "q8 output: \(report.final)")
        #expect(report.final.relativeL2 > 1e-3, "q8 must differ from f32")
        // One perturbed weight at q8 is far beyond the q8 bound.
        let perturbed = try ValidationFixtures.report(weights, changing: "blocks.1.ffn.2.weight", by: { $0.map { $0 * 1.5 } },
                                                      noiseFloor: Self.q8Floor, bound: Self.q8Bound)
        Self.show("q8, blocks.1.ffn.2.weight × 1.5", perturbed)
        #expect(!perturbed.pass && perturbed.final.relativeL2 > 2 * Self.q8Bound)
        #expect(perturbed.firstJump == "blocks.1")
    }

    @Test func onePerturbedBlockWeightIsNamedAsTheFirstJump() throws {
        // One weight of main block 2's feed-forward output changed by +0.5.
        let report = try ValidationFixtures.report(try ValidationFixtures.wan(.f32), changing: "blocks.2.ffn.2.weight",
                                                   by: { var v = $0; v[5] += 0.5; return v }, noiseFloor: Self.f32Floor, bound: Self.f32Bound)
        Self.show("f32, one weight of blocks.2 changed", report)
        #expect(report.firstJump == "blocks.2")
        #expect(!report.pass)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(json["first_jump"] as? String == "blocks.2")
        #expect(json["pass"] as? Bool == false)
    }

    @Test func aNaNOutputFails() throws {
        let report = try ValidationFixtures.report(try ValidationFixtures.wan(.f32), changing: "head.head.weight",
                                                   by: { var v = $0; v[0] = .nan; return v }, noiseFloor: Self.f32Floor)
        Self.show("NaN in the head", report)
        #expect(report.firstJump == "head")
        #expect(!report.pass)   // no bound given: non-finite alone fails
        #expect(!report.final.isFinite)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(json["final_rel_l2"] is NSNull)
    }

    @Test func theJSONHasTheDocumentedSchema() throws {
        let report = try ValidationFixtures.report(try ValidationFixtures.wan(.f32), noiseFloor: Self.f32Floor)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(Set(json.keys) == ["points", "first_jump", "final_rel_l2", "pass"])
        let points = try #require(json["points"] as? [[String: Any]])
        #expect(points.count == 10 && points.allSatisfy { Set($0.keys) == ["name", "rel_l2", "max_abs", "cosine"] })
        #expect(points.first?["name"] as? String == "time_embedding")
        #expect(json["first_jump"] is NSNull)
        #expect((json["final_rel_l2"] as? Double).map { $0 <= Self.f32Bound } == true)
    }

    @Test func aPointOfAnotherShapeIsAnError() throws {
        let url = try ValidationFixtures.editedDump { name, values, shape in
            name == "point.blocks.1" ? (Array(values.dropLast(64)), [shape[0], shape[1] - 1, shape[2]]) : (values, shape)
        }
        #expect(throws: TensorError.self) { _ = try ValidationFixtures.report(try ValidationFixtures.wan(.f32), dump: url, noiseFloor: Self.f32Floor) }
    }

    @Test func aMissingPointIsAnError() throws {
        let url = try ValidationFixtures.editedDump { name, values, shape in name == "point.vace_blocks.1" ? nil : (values, shape) }
        let error = #expect(throws: ValidateError.self) {
            _ = try ValidationFixtures.report(try ValidationFixtures.wan(.f32), dump: url, noiseFloor: Self.f32Floor)
        }
        #expect(error?.description.contains("vace_blocks.1") == true)
    }

    @Test func anOutputOfAnotherShapeIsAnError() throws {
        let url = try ValidationFixtures.editedDump { name, values, shape in
            name == "noise_pred" ? (values + [0], [values.count + 1]) : (values, shape)
        }
        #expect(throws: TensorError.self) { _ = try ValidationFixtures.report(try ValidationFixtures.wan(.f32), dump: url, noiseFloor: Self.f32Floor) }
    }

    @Test func theFirstJumpRule() {
        let floor = 1e-5
        #expect(LayerReport.firstJump([("a", 1e-7), ("b", 9e-6), ("c", 2e-5)], noiseFloor: floor) == nil)     // ×2.2
        #expect(LayerReport.firstJump([("a", 1e-7), ("b", 9e-6), ("c", 3e-5)], noiseFloor: floor) == "c")     // ×3.3 above the floor
        #expect(LayerReport.firstJump([("a", 1e-7), ("b", 5e-6), ("c", 9e-6)], noiseFloor: floor) == nil)     // below the floor
        #expect(LayerReport.firstJump([("a", 2e-5)], noiseFloor: floor) == "a")                              // the input is exact
        #expect(LayerReport.firstJump([("a", 1e-7), ("b", .infinity)], noiseFloor: floor) == "b")
        #expect(LayerReport.noiseFloor(weights: "q8") == 1e-2 && LayerReport.noiseFloor(weights: "q8", int8Activations: true) == 3e-2
                && LayerReport.noiseFloor(weights: "bf16") == 1e-3
                && LayerReport.noiseFloor(weights: "f32", activations: "f16") == 1e-3)
    }
}
