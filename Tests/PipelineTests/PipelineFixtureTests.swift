import CPUBackend
import Checkpoints
import Foundation
import Models
import Pipeline
import Tensors
import VKQ
import XCTest

/// The generation loop against diffusers' WanVACEPipeline (4 Euler steps, shift 3, guidance 5, tiny random
/// transformer; Tests/Fixtures/reference/wan_vace_pipeline.safetensors, converters/reference/wan.py
/// `pipeline_case`), from the recorded noise and VACE context: every step's guided prediction and latents.
final class PipelineFixtureTests: XCTestCase {
    static let reference = try! PipelineFixtures.tensors("reference/wan_vace_pipeline.safetensors")

    func host(_ name: String) -> HostTensor { let r = Self.reference[name]!; return HostTensor(r.values, r.shape) }

    /// Runs the loop; returns the worst relative L2 over the steps of (guided prediction, latents).
    func worstStepErrors(weights: any WeightProvider, batch: Bool = false) throws -> (velocity: Double, latents: Double) {
        let backend = CPUBackend()
        let transformer = try WanTransformer(weights: weights, backend: backend)
        let generator = WanVACEGenerator(backend: backend, vae: TestVAE(backend: backend)) { transformer }
        let settings = GenerationSettings(steps: 4, guidance: 5, shift: 3, sampler: .euler, seed: 0, contextScale: 1, batchGuidance: batch)
        var worst = (velocity: 0.0, latents: 0.0)
        let final = try generator.sample(transformer: transformer, vaceContext: host("vace_context"), text: host("prompt_embeds"),
                                         negative: host("negative_prompt_embeds"), settings: settings, initialNoise: host("initial_latents")) { event in
            guard case let .step(i, _, _, velocity, latents) = event else { return }
            let v = try! ErrorMetric.compare(velocity, Self.reference["step\(i)_noise_pred_guided"]!.values, what: "step \(i) guided")
            let x = try! ErrorMetric.compare(latents, Self.reference["step\(i)_latents_out"]!.values, what: "step \(i) latents")
            print("step \(i): guided \(v), latents \(x)")
            worst = (max(worst.velocity, v.relativeL2), max(worst.latents, x.relativeL2))
        }
        XCTAssertEqual(final.shape, Self.reference["final_latents"]!.shape)
        return worst
    }

    func testEulerScheduleIsTheFixtures() throws {
        let schedule = try FlowSchedule.diffusersEuler(steps: 4, shift: 3)
        XCTAssertEqual(schedule.sigmas, Self.reference["sigmas"]!.values)
        XCTAssertEqual(schedule.timesteps.map(Float.init), Self.reference["timesteps"]!.values)
    }

    func testStepsMatchDiffusersInF32() throws {
        let worst = try worstStepErrors(weights: try PipelineFixtures.wan(precision: .f32))
        XCTAssertLessThanOrEqual(worst.velocity, 1e-5)
        XCTAssertLessThanOrEqual(worst.latents, 1e-5)
    }

    func testBatchedGuidanceGivesTheSameSteps() throws {
        let worst = try worstStepErrors(weights: try PipelineFixtures.wan(precision: .f32), batch: true)
        XCTAssertLessThanOrEqual(worst.velocity, 1e-5)
        XCTAssertLessThanOrEqual(worst.latents, 1e-5)
    }

    func testStepBoundFailsForAPerturbedModel() throws {
        let base = try PipelineFixtures.wan(precision: .f32)
        // One weight of the last VACE block's output projection: only the hint path changes.
        let perturbed = PerturbedWeights(base: base, name: "vace_blocks.1.after_proj.weight") { v in var v = v; v[5] += 0.05; return v }
        let worst = try worstStepErrors(weights: perturbed)
        print("perturbed model: worst guided \(worst.velocity)")
        XCTAssertGreaterThan(worst.velocity, 1e-5)
    }

    func testReducedPrecisionFigures() throws {
        for (name, precision, group) in [("f16", Recipe.Precision.f16, 0), ("q8", Recipe.Precision.q8, 32)] {
            let worst = try worstStepErrors(weights: try PipelineFixtures.wan(precision: precision, group: group))
            print("pipeline steps \(name): worst guided \(worst.velocity), worst latents \(worst.latents)")
            XCTAssertLessThanOrEqual(worst.latents, name == "f16" ? 5e-4 : 8e-3, name)  // measured 3.0e-4 (f16), 4.6e-3 (q8 group 32)
        }
    }

    /// The 64 mask channels of the recorded context come from the recorded mask alone.
    func testMaskFoldingMatchesTheFixtureContext() throws {
        let mask = Self.reference["mask_preprocessed"]!  // [1, 1, 9, 32, 48]
        let pixels = PixelMask(width: 48, height: 32, frames: 9, values: mask.values)
        let folded = VACEContext.foldMask(pixels, latentFrames: 3, factor: 8)
        let context = Self.reference["vace_context"]!.values  // [1, 96, 3, 4, 6]
        let expected = Array(context[32 * 72 ..< 96 * 72])
        let error = try ErrorMetric.compare(folded, expected, what: "mask channels")
        XCTAssertEqual(error.maxAbs, 0)
        // Soft values survive: the 0.25 and 0.75 rings are in the channels.
        XCTAssertTrue(folded.contains(0.25) && folded.contains(0.75))
    }
}
