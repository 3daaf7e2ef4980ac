import CPUBackend
import Checkpoints
import Foundation
import Models
import Pipeline
import Tensors
import TestSupport
import VKQ
import VulkanBackend
import XCTest

/// The LTX generation loop end to end against the original LTX-Video 0.9.1 `LTXVideoPipeline` (tiny random
/// transformer + timestep-conditioned VAE; 3 steps, 9×32×64, CFG 3 with and without STG on layer 1 and its
/// 0.7 rescale; Tests/Fixtures/ltx_generate/t2v.safetensors) from the recorded noise: every step's latents
/// and the decoded video (before the writer's clamp).
final class LTXGeneratorTests: XCTestCase {
    static let reference = try! PipelineFixtures.tensors("ltx_generate/t2v.safetensors")
    static let cases: [String: (guidance: Float, stg: Float)] = ["cfg_stg": (3, 1), "cfg": (3, 0)]
    /// Measured: steps ≤ 9.6e-7, video ≤ 1.8e-6 (f32 CPU); the issue asks ≤ 1e-4.
    static let (stepBound, videoBound) = (3e-6, 1e-5)

    func host(_ name: String) -> HostTensor { let r = Self.reference[name]!; return HostTensor(r.values, r.shape) }

    var text: LTXText {
        LTXText(context: host("context"), mask: host("context_mask"), negative: host("negative_context"), negativeMask: host("negative_context_mask"))
    }

    /// Runs case `name`; returns the worst relative L2 over the steps' latents and that of the video.
    func errors(_ name: String, transformerWeights: (any WeightProvider)? = nil, batch: Bool = true, backend: any Backend = CPUBackend(),
                settingsChange: (inout LTXGenerationSettings) -> Void = { _ in }) throws -> (steps: Double, video: Double) {
        let vae = try LTXVAE(weights: try LTXGenerateFixtures.weights("vae"), backend: backend)
        let weights = try transformerWeights ?? LTXGenerateFixtures.weights("transformer")
        let generator = LTXGenerator(backend: backend, vae: vae) { try LTXTransformer(weights: weights, backend: backend) }
        let c = Self.cases[name]!
        var settings = LTXGenerationSettings(steps: 3, guidance: c.guidance, stgScale: c.stg, stgLayers: [1], stgRescale: 0.7, seed: 0,
                                             frameRate: 25, decodeTimestep: 0.05, decodeNoiseScale: 0.025, batchRows: batch)
        settingsChange(&settings)
        let noise = HostTensor(LTXGenerateFixtures.latents(fromTokens: Self.reference["\(name).noise"]!.values, channels: 128), [1, 128, 2, 1, 2])
        var decodeNoise: [String: HostTensor] = [:]
        for key in Self.reference.keys where key.hasPrefix("\(name).decode") {
            decodeNoise[String(key.dropFirst(name.count + 1))] = host(key)
        }
        XCTAssertEqual(decodeNoise.count, 7)  // decode_noise + 6 decoder maps
        var worst = 0.0
        let result = try generator.generate(latentGrid: (2, 1, 2), text: text, settings: settings, initialNoise: noise, decodeNoise: decodeNoise) { event in
            guard case let .step(i, _, _, _, latents) = event else { return }
            let expected = LTXGenerateFixtures.latents(fromTokens: Self.reference["\(name).step\(i)"]!.values, channels: 128)
            let e = try! ErrorMetric.compare(latents, expected, what: "\(name) step \(i)")
            print("LTX \(name) step \(i): \(e)")
            worst = max(worst, e.relativeL2)
        }
        let video = try ErrorMetric.compare(result.video.values, Self.reference["\(name).video"]!.values, what: "\(name) video")
        print("LTX \(name) video: \(video)")
        XCTAssertEqual([result.video.frames, result.video.height, result.video.width], [9, 32, 64])
        return (worst, video.relativeL2)
    }

    func testT2VWithSTGMatchesTheOriginalPipeline() throws {
        let e = try errors("cfg_stg")
        XCTAssertLessThanOrEqual(e.steps, Self.stepBound)
        XCTAssertLessThanOrEqual(e.video, Self.videoBound)
    }

    func testT2VWithCFGOnlyMatchesTheOriginalPipeline() throws {
        let e = try errors("cfg")
        XCTAssertLessThanOrEqual(e.steps, Self.stepBound)
        XCTAssertLessThanOrEqual(e.video, Self.videoBound)
    }

    /// The same run on the Vulkan backend (lavapipe in CI; `VACEKIT_REQUIRE_VULKAN=1` fails instead of skipping
    /// without a device), f32 activations. Measured on lavapipe: steps ≤ 8.5e-7, video ≤ 1.5e-6.
    func testT2VWithSTGOnVulkanMatchesTheOriginalPipeline() throws {
        let device = try PipelineFixtures.vulkanDevice()
        let e = try errors("cfg_stg", backend: try VulkanBackend(device: device, activations: .f32))
        XCTAssertLessThanOrEqual(e.steps, Self.stepBound)
        XCTAssertLessThanOrEqual(e.video, Self.videoBound)
    }

    func testOneCallPerRowGivesTheSameRun() throws {
        let e = try errors("cfg_stg", batch: false)
        XCTAssertLessThanOrEqual(e.steps, Self.stepBound)
        XCTAssertLessThanOrEqual(e.video, Self.videoBound)
    }

    func testBoundsFailForAPerturbedModelAndWrongGuidance() throws {
        // One weight of the STG-skipped layer's self-attention output: it changes every row but the
        // perturbed one, so the STG term shifts.
        let base = try LTXGenerateFixtures.weights("transformer")
        let perturbed = try PerturbedWeights(base: base, name: "transformer_blocks.1.attn1.to_out.0.weight") { v in var v = v; v[3] += 0.05; return v }
        let e = try errors("cfg_stg", transformerWeights: perturbed)
        print("perturbed model: steps \(e.steps), video \(e.video)")
        XCTAssertGreaterThan(e.steps, Self.stepBound)
        XCTAssertGreaterThan(e.video, Self.videoBound)
        // The rescale always on (not only with STG) and STG on another layer: both must fail too.
        XCTAssertGreaterThan(try errors("cfg_stg") { $0.stgRescale = 1 }.steps, Self.stepBound)
        XCTAssertGreaterThan(try errors("cfg_stg") { $0.stgLayers = [0] }.steps, Self.stepBound)
        // Decoding with another decode timestep: the video must fail.
        XCTAssertGreaterThan(try errors("cfg") { $0.decodeTimestep = 0.06 }.video, Self.videoBound)
    }

    func testConvertedPrecisionsStayClose() throws {
        // The fixture's weights are f16 values, so an f16 conversion is lossless: the f32 bounds hold.
        let f16 = try errors("cfg_stg", transformerWeights: try LTXGenerateFixtures.weights("transformer", precision: .f16))
        XCTAssertLessThanOrEqual(f16.steps, Self.stepBound)
        XCTAssertLessThanOrEqual(f16.video, Self.videoBound)
        // q8 in groups of 32 (the VAE stays f32): measured steps 8.4e-3, video 1.2e-2 with 16-bit activations
        // (W8A16); 1.4e-2 and 1.9e-2 with int8 ones (W8A8, the automatic mode on AVX-512 VNNI).
        let (stepBound, videoBound) = QuantizedMatmul.Mode.environment == .w8a8 ? (1.7e-2, 2.3e-2) : (1.2e-2, 1.6e-2)
        let q8Weights = try LTXGenerateFixtures.weights("transformer", precision: .q8, group: 32)
        let q8 = try errors("cfg_stg", transformerWeights: q8Weights)
        print("LTX T2V q8 weights: steps \(q8.steps), video \(q8.video)")
        XCTAssertLessThanOrEqual(q8.steps, stepBound)
        XCTAssertLessThanOrEqual(q8.video, videoBound)
        // A wrong model at that precision (STG on another layer) must fail those bounds.
        let wrong = try errors("cfg_stg", transformerWeights: q8Weights) { $0.stgLayers = [0] }
        print("LTX T2V q8 weights, STG on layer 0: steps \(wrong.steps), video \(wrong.video)")
        XCTAssertGreaterThan(wrong.steps, stepBound)
        XCTAssertGreaterThan(wrong.video, videoBound)
    }

    func testSTGWithoutCFGIsRefused() throws {
        let backend = CPUBackend()
        let vae = try LTXVAE(weights: try LTXGenerateFixtures.weights("vae"), backend: backend)
        let transformer = try LTXTransformer(weights: try LTXGenerateFixtures.weights("transformer"), backend: backend)
        let generator = LTXGenerator(backend: backend, vae: vae) { transformer }
        XCTAssertThrowsError(try generator.sample(transformer: transformer, latentGrid: (2, 1, 2), vaceContext: nil, text: text,
                                                  settings: LTXGenerationSettings(steps: 3, guidance: 1, stgScale: 1))) { error in
            XCTAssertTrue("\(error)".contains("--stg-scale"), "\(error)")
        }
        XCTAssertThrowsError(try generator.sample(transformer: transformer, latentGrid: (2, 1, 2), vaceContext: nil, text: text,
                                                  settings: LTXGenerationSettings(steps: 3, stgLayers: [7]))) { error in
            XCTAssertTrue("\(error)".contains("--stg-layers"), "\(error)")
        }
    }
}
