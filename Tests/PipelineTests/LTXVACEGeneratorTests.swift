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

/// VACE-LTX end to end against ali-vilab/VACE `VaceLTXVideoPipeline` on LTX-Video 0.9.1 (tiny random VACE
/// transformer with context blocks on layers 0 and 2, the timestep-conditioned VAE; inpainting of a
/// 9×32×64 clip under a mask with a soft edge, one reference image of another size letter-boxed on white;
/// RoPE at the clip-derived 26.47 fps; CFG 3 alone, and with STG on layer 2 (a context layer) and context
/// scale 0.8; Tests/Fixtures/ltx_generate/vace.safetensors): the context, every step's latents, the video.
final class LTXVACEGeneratorTests: XCTestCase {
    static let reference = try! PipelineFixtures.tensors("ltx_generate/vace.safetensors")
    static let cases: [String: (stg: Float, scale: Float)] = ["inpaint_ref": (0, 1), "inpaint_ref_stg": (1, 0.8)]
    /// Measured: context 4.9e-7, steps ≤ 1.2e-6, video ≤ 1.6e-6 (f32 CPU); the issue asks ≤ 1e-4.
    static let (contextBound, stepBound, videoBound) = (1e-6, 3e-6, 1e-5)

    func host(_ name: String) -> HostTensor { let r = Self.reference[name]!; return HostTensor(r.values, r.shape) }

    /// The VCU as the task builder hands it over: the clip, the soft mask, the reference fitted onto the canvas.
    var unit: VideoConditionUnit {
        let video = Self.reference["src_video"]!, mask = Self.reference["src_mask"]!, ref = Self.reference["ref"]!
        let reference = ReferenceFit.letterbox(PixelVideo(width: 40, height: 24, frames: 1, values: ref.values), width: 64, height: 32)
        return VideoConditionUnit(frames: PixelVideo(width: 64, height: 32, frames: 9, values: video.values),
                                  mask: PixelMask(width: 64, height: 32, frames: 9, values: mask.values), references: [reference])
    }

    func context(vae: LTXVAE, backend: any Backend) throws -> HostTensor { try LTXVACEContext.build(unit, vae: vae, on: backend) }

    func testContextMatchesTheOriginalPipeline() throws {
        let backend = CPUBackend()
        let vae = try LTXVAE(weights: try LTXGenerateFixtures.weights("vae"), backend: backend)
        let built = try context(vae: vae, backend: backend)
        XCTAssertEqual(built.shape, [1, 384, 3, 1, 2])
        let e = try ErrorMetric.compare(built.values, Self.reference["inpaint_ref.vace_context"]!.values, what: "VACE-LTX context")
        print("VACE-LTX context: \(e)")
        XCTAssertLessThanOrEqual(e.relativeL2, Self.contextBound)
        // Thresholding the mask (as the Wan context does) instead of multiplying by it must fail.
        var hard = unit
        hard.mask.values = hard.mask.values.map { $0 > 0.5 ? 1 : 0 }
        let wrong = try LTXVACEContext.build(hard, vae: vae, on: backend)
        XCTAssertGreaterThan(try ErrorMetric.compare(wrong.values, Self.reference["inpaint_ref.vace_context"]!.values).relativeL2, Self.contextBound)
    }

    /// Runs case `name`; returns the worst relative L2 over the steps' latents and that of the video.
    func errors(_ name: String, transformerWeights: (any WeightProvider)? = nil, frameRate: Double = 26.47,
                backend: any Backend = CPUBackend()) throws -> (steps: Double, video: Double) {
        let vae = try LTXVAE(weights: try LTXGenerateFixtures.weights("vae"), backend: backend)
        let weights = try transformerWeights ?? LTXGenerateFixtures.weights("transformer", vace: true)
        let generator = LTXGenerator(backend: backend, vae: vae) { try LTXTransformer(weights: weights, backend: backend) }
        let c = Self.cases[name]!
        let settings = LTXGenerationSettings(steps: 3, guidance: 3, stgScale: c.stg, stgLayers: [2], stgRescale: 0.7, seed: 0, contextScale: c.scale,
                                             frameRate: frameRate, decodeTimestep: 0.05, decodeNoiseScale: 0.025)
        let noise = HostTensor(LTXGenerateFixtures.latents(fromTokens: Self.reference["\(name).noise"]!.values, channels: 128), [1, 128, 3, 1, 2])
        var decodeNoise: [String: HostTensor] = [:]
        for key in Self.reference.keys where key.hasPrefix("\(name).decode") { decodeNoise[String(key.dropFirst(name.count + 1))] = host(key) }
        let text = LTXText(context: host("context"), mask: host("context_mask"), negative: host("negative_context"), negativeMask: host("negative_context_mask"))
        var worst = 0.0
        let result = try generator.generate(latentGrid: (3, 1, 2), references: 1, vaceContext: try context(vae: vae, backend: backend), text: text,
                                            settings: settings, initialNoise: noise, decodeNoise: decodeNoise) { event in
            guard case let .step(i, _, _, _, latents) = event else { return }
            let expected = LTXGenerateFixtures.latents(fromTokens: Self.reference["\(name).step\(i)"]!.values, channels: 128)
            let e = try! ErrorMetric.compare(latents, expected, what: "\(name) step \(i)")
            print("VACE-LTX \(name) step \(i): \(e)")
            worst = max(worst, e.relativeL2)
        }
        XCTAssertEqual(result.latents.shape, [1, 128, 3, 1, 2])  // the reference frame stays in the latents
        XCTAssertEqual([result.video.frames, result.video.height, result.video.width], [9, 32, 64])  // and is dropped before the decode
        let video = try ErrorMetric.compare(result.video.values, Self.reference["\(name).video"]!.values, what: "\(name) video")
        print("VACE-LTX \(name) video: \(video)")
        return (worst, video.relativeL2)
    }

    func testInpaintingWithAReferenceMatchesTheOriginalPipeline() throws {
        let e = try errors("inpaint_ref")
        XCTAssertLessThanOrEqual(e.steps, Self.stepBound)
        XCTAssertLessThanOrEqual(e.video, Self.videoBound)
    }

    func testSTGOnAContextLayerMatchesTheOriginalPipeline() throws {
        let e = try errors("inpaint_ref_stg")
        XCTAssertLessThanOrEqual(e.steps, Self.stepBound)
        XCTAssertLessThanOrEqual(e.video, Self.videoBound)
    }

    /// The STG run (context, sampling, decode) on the Vulkan backend (lavapipe in CI), f32 activations.
    /// Measured on lavapipe: steps ≤ 1.0e-6, video 1.4e-6.
    func testSTGOnAContextLayerOnVulkanMatchesTheOriginalPipeline() throws {
        let device = try PipelineFixtures.vulkanDevice()
        let e = try errors("inpaint_ref_stg", backend: try VulkanBackend(device: device, activations: .f32))
        XCTAssertLessThanOrEqual(e.steps, Self.stepBound)
        XCTAssertLessThanOrEqual(e.video, Self.videoBound)
    }

    func testBoundsFailForAPerturbedModelAndTheIntegerFrameRate() throws {
        // One weight of the last context block's output projection: only the hint path changes.
        let base = try LTXGenerateFixtures.weights("transformer", vace: true)
        let perturbed = try PerturbedWeights(base: base, name: "transformer_context_blocks.2.after_proj.weight") { v in var v = v; v[3] += 0.05; return v }
        let e = try errors("inpaint_ref_stg", transformerWeights: perturbed)
        print("perturbed VACE model: steps \(e.steps), video \(e.video)")
        XCTAssertGreaterThan(e.steps, Self.stepBound)
        XCTAssertGreaterThan(e.video, Self.videoBound)
        // A source clip's RoPE rate is the clip-derived one: the integer rate must fail.
        XCTAssertGreaterThan(try errors("inpaint_ref", frameRate: 26).steps, Self.stepBound)
    }
}
