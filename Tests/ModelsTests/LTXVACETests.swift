import CPUBackend
import Checkpoints
import Foundation
import Testing
import Tensors
import TestSupport
import VKQ
@testable import Models

/// VACE-LTX-Video-0.9 against the original VACE code (VaceTransformer3DModel on LTX-Video 0.9.1, float32
/// CPU; converters/reference/make_ltx_vace_fixtures.py): 3 layers with context blocks at 0 and 2, batch 2,
/// two context scales, and STG (`stg_a`) on batch row 1 at a context layer and at a plain layer.
@Suite struct LTXVACETests {
    static let reference = try? LTXFixtures.vaceReference()
    static let cases = ["scale_1", "scale_0.5", "stg_context_layer", "stg_plain_layer"]

    /// The fixture forward of `name` (its context scale and STG layers) on `backend`.
    static func forward(_ name: String, _ weights: any WeightProvider, backend: any Backend, residency: WeightResidency = .resident,
                        configure: ((LTXTransformer) -> Void)? = nil) throws -> [Float] {
        let r = try #require(reference)
        let model = try LTXTransformer(weights: weights, backend: backend, residency: residency)
        configure?(model)
        func t(_ n: String) throws -> Tensor { try backend.tensor(r[n]!.values, Shape(r[n]!.shape)) }
        let skip = r["stg_skip_layers_\(name)"].map { LTXTransformer.AttentionSkip(layers: Set($0.values.map { Int($0) }), rows: [1]) }
        let out = try model(latents: try t("latents"), timesteps: r["timestep"]!.values, context: try t("context"), contextMask: try t("context_mask"),
                            frameRate: Double(r["frame_rate"]!.values[0]), vaceContext: try t("vace_context"),
                            vaceScale: r["vace_scale_\(name)"]!.values[0], skip: skip)
        #expect(out.shape.dims == r["noise_pred_\(name)"]!.shape)
        return try backend.floats(out)
    }

    static func error(_ actual: [Float], _ name: String) throws -> Double {
        let r = try #require(reference)
        return try ErrorMetric.compare(actual, r["noise_pred_\(name)"]!.values, what: "VACE-LTX \(name)").relativeL2
    }

    @Test func theConverterFindsTheContextLayers() throws {
        let weights = try LTXFixtures.vace(precision: .f32)
        #expect(weights.family == "vace-ltx-video-0.9")
        #expect(try weights.config(LTXTransformerConfig.self).contextLayers == [0, 2])
    }

    @Test(arguments: cases)
    func f32MatchesTheOriginal(name: String) throws {
        let error = try Self.error(try Self.forward(name, try LTXFixtures.vace(precision: .f32), backend: CPUBackend()), name)
        print("VACE-LTX fixture forward f32 \(name): relative L2 \(error)")
        #expect(error <= 1e-5, "\(name): relative L2 \(error)")
    }

    @Test(arguments: [(Recipe.Precision.f16, 0, 2e-3), (.q8, 0, 3e-2), (.q8, 32, 3e-2)])
    func storedPrecisionsStayWithinTheirBounds(precision: Recipe.Precision, group: Int, bound: Double) throws {
        let weights = try LTXFixtures.vace(precision: precision, group: group)
        for name in ["scale_1", "stg_context_layer"] {
            let error = try Self.error(try Self.forward(name, weights, backend: CPUBackend()), name)
            print("VACE-LTX fixture forward \(precision) group \(group) \(name): relative L2 \(error)")
            #expect(error <= bound && error > 0, "\(precision)/\(group) \(name): relative L2 \(error)")
        }
    }

    @Test func streamedWeightsGiveTheResidentResult() throws {
        let weights = try LTXFixtures.vace(precision: .q8)
        #expect(try Self.forward("stg_context_layer", weights, backend: CPUBackend(), residency: .streamed)
                == Self.forward("stg_context_layer", weights, backend: CPUBackend()))
    }

    @Test func perturbingOneContextWeightFailsTheBound() throws {
        let perturbed = try PerturbedWeights(base: try LTXFixtures.vace(precision: .f32), name: "transformer_context_blocks.2.after_proj.weight") { $0.map { $0 * 1.2 } }
        let error = try Self.error(try Self.forward("scale_1", perturbed, backend: CPUBackend()), "scale_1")
        print("VACE-LTX perturbed context weight: relative L2 \(error)")
        #expect(error > 3e-2, "a perturbed context weight should fail even the q8 bound: relative L2 \(error)")
    }

    @Test func aHintBeforeItsBlockFailsTheBound() throws {
        let error = try Self.error(try Self.forward("scale_1", try LTXFixtures.vace(precision: .f32), backend: CPUBackend()) { $0.hintsBeforeBlocks = true }, "scale_1")
        print("VACE-LTX hints added before their blocks: relative L2 \(error)")
        #expect(error > 3e-2, "hints before their blocks should fail the bounds: relative L2 \(error)")
    }

    @Test func stgChangesOnlyThePerturbedRow() throws {
        let r = try #require(Self.reference)
        let plain = r["noise_pred_scale_1"]!.values, half = plain.count / 2
        for name in ["stg_context_layer", "stg_plain_layer"] {
            let out = try Self.forward(name, try LTXFixtures.vace(precision: .f32), backend: CPUBackend())
            let row0 = try ErrorMetric.compare(out[..<half], plain[..<half], what: "row 0").relativeL2
            let row1 = try ErrorMetric.compare(out[half...], plain[half...], what: "row 1").relativeL2
            print("VACE-LTX \(name) vs no STG: row 0 \(row0), row 1 \(row1)")
            #expect(row0 <= 1e-5 && row1 > 3e-2, "\(name): row 0 \(row0), row 1 \(row1)")
        }
    }

    /// `prepare` once, `step` per call: the same result as one forward each, for changing latents.
    @Test func prepareOnceThenStepMatchesSingleForwards() throws {
        let r = try #require(Self.reference)
        let backend = CPUBackend()
        let model = try LTXTransformer(weights: try LTXFixtures.vace(precision: .q8), backend: backend)
        func t(_ n: String) throws -> Tensor { try backend.tensor(r[n]!.values, Shape(r[n]!.shape)) }
        let p = try model.prepare(context: try t("context"), contextMask: try t("context_mask"), grid: (2, 3, 4), frameRate: 26.47,
                                  vaceContext: try t("vace_context"), vaceScale: 0.5)
        for scale in [Float(1), 0.25] {
            let latents = try backend.tensor(r["latents"]!.values.map { $0 * scale }, Shape(r["latents"]!.shape))
            let stepped = try backend.floats(try model.step(p, latents: latents, timesteps: [900, 100]))
            let single = try backend.floats(try model(latents: latents, timesteps: [900, 100], context: try t("context"), contextMask: try t("context_mask"),
                                                      frameRate: 26.47, vaceContext: try t("vace_context"), vaceScale: 0.5))
            #expect(stepped == single)
        }
    }

    /// The named points of Models/Shared/Tap.swift, in execution order; the hint of the last context
    /// layer is what the main stream adds (scaled) after that layer.
    @Test func tapSeesTheNamedPointsInOrder() throws {
        final class Seen: @unchecked Sendable { var names: [String] = []; var values: [String: [Float]] = [:] }
        let seen = Seen()
        let backend = CPUBackend()
        let r = try #require(Self.reference)
        let model = try LTXTransformer(weights: try LTXFixtures.vace(precision: .f32), backend: backend)
        func t(_ n: String) throws -> Tensor { try backend.tensor(r[n]!.values, Shape(r[n]!.shape)) }
        let out = try model(latents: try t("latents"), timesteps: r["timestep"]!.values, context: try t("context"), contextMask: try t("context_mask"),
                            frameRate: 26.47, vaceContext: try t("vace_context"), vaceScale: 1) { name, value in
            seen.names.append(name)
            seen.values[name] = try backend.floats(value)
        }
        #expect(seen.names == ["text_embedding", "time_embedding", "patch_embedding", "vace_blocks.0", "blocks.0", "blocks.1", "vace_blocks.1", "blocks.2", "head"])
        #expect(LTXFixtures.tokens(fromVideo: try backend.floats(out), batch: 2, tokens: 24, channels: 128) == seen.values["head"]!)
    }
}
