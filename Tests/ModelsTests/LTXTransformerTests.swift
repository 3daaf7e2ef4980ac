import CPUBackend
import Checkpoints
import Foundation
import Testing
import Tensors
import TestSupport
import VKQ
@testable import Models

/// The LTX-Video transformer against diffusers' LTXVideoTransformer3DModel (float32 CPU) on the tiny
/// fixture model (2 layers, 2 heads × 32, grid 3×4×6, 16 caption tokens of which 9 are real), from
/// both checkpoint layouts and in every stored precision, with the sensitivity checks that show the
/// bounds catch a wrong model.
@Suite struct LTXTransformerTests {
    static let reference = try? ModelFixtures.reference("ltx_forward")
    static let grid = (frames: 3, height: 4, width: 6)

    /// The fixture inputs on `backend`: latents `[1, 128, 3, 4, 6]`, captions, mask, timestep.
    static func inputs(_ backend: any Backend) throws -> (latents: Tensor, context: Tensor, mask: Tensor, timesteps: [Float]) {
        let r = try #require(reference)
        let hidden = r["hidden_states"]!
        let latents = LTXFixtures.video(fromTokens: hidden.values, batch: 1, tokens: 72, channels: 128)
        return (try backend.tensor(latents, [1, 128, 3, 4, 6]),
                try backend.tensor(r["encoder_hidden_states"]!.values, Shape(r["encoder_hidden_states"]!.shape)),
                try backend.tensor(r["encoder_attention_mask"]!.values, Shape(r["encoder_attention_mask"]!.shape)),
                r["timestep"]!.values)
    }

    /// The fixture forward in token layout `[1, 72, 128]` (the reference's layout).
    static func forward(_ weights: any WeightProvider, backend: any Backend, residency: WeightResidency = .resident,
                        edit: ((LTXTransformer.Prepared) throws -> LTXTransformer.Prepared)? = nil) throws -> [Float] {
        let model = try LTXTransformer(weights: weights, backend: backend, residency: residency)
        let x = try inputs(backend)
        var p = try model.prepare(context: x.context, contextMask: x.mask, grid: grid, frameRate: 25)
        if let edit { p = try edit(p) }
        let out = try model.step(p, latents: x.latents, timesteps: x.timesteps)
        #expect(out.shape.dims == [1, 128, 3, 4, 6])
        return LTXFixtures.tokens(fromVideo: try backend.floats(out), batch: 1, tokens: 72, channels: 128)
    }

    static func error(_ actual: [Float], _ name: String = "output") throws -> Double {
        let r = try #require(reference)
        return try ErrorMetric.compare(actual, r[name]!.values, what: "LTX \(name)").relativeL2
    }

    @Test(arguments: ["official", "diffusers"])
    func f32MatchesDiffusers(layout: String) throws {
        let error = try Self.error(try Self.forward(try LTXFixtures.ltx(layout, precision: .f32), backend: CPUBackend()))
        print("LTX fixture forward f32 (\(layout)): relative L2 \(error)")
        #expect(error <= 1e-5, "\(layout): relative L2 \(error)")
    }

    @Test(arguments: [(Recipe.Precision.f16, 0, 2e-3), (.q8, 0, 3e-2), (.q8, 32, 3e-2)])
    func storedPrecisionsStayWithinTheirBounds(precision: Recipe.Precision, group: Int, bound: Double) throws {
        let error = try Self.error(try Self.forward(try LTXFixtures.ltx(precision: precision, group: group), backend: CPUBackend()))
        print("LTX fixture forward, \(precision) group \(group): relative L2 \(error)")
        #expect(error <= bound && error > 0, "\(precision)/\(group): relative L2 \(error)")
    }

    @Test func streamedWeightsGiveTheResidentResult() throws {
        let weights = try LTXFixtures.ltx(precision: .q8)
        #expect(try Self.forward(weights, backend: CPUBackend(), residency: .streamed) == Self.forward(weights, backend: CPUBackend()))
    }

    @Test func perturbingOneWeightFailsTheBound() throws {
        // 20% more on one cross-attention value matrix (the residual stream carries x0 through every
        // block, so a scaled block output moves the velocity by less than the scale).
        let perturbed = try PerturbedWeights(base: try LTXFixtures.ltx(precision: .f32), name: "transformer_blocks.0.attn2.to_v.weight") { $0.map { $0 * 1.2 } }
        let error = try Self.error(try Self.forward(perturbed, backend: CPUBackend()))
        print("LTX perturbed weight: relative L2 \(error)")
        #expect(error > 3e-2, "a perturbed weight should fail even the q8 bound: relative L2 \(error)")
    }

    /// The RoPE table with two axes exchanged inside every (t, h, w) triple.
    static func swappingAxes(_ a: Int, _ b: Int, of p: LTXTransformer.Prepared, dim: Int, on backend: any Backend) throws -> LTXTransformer.Prepared {
        let pairs = dim / 2, identity = (dim % 6) / 2
        func swapped(_ t: Tensor) throws -> Tensor {
            var v = try backend.floats(t)
            for n in 0 ..< v.count / pairs { for k in 0 ..< dim / 6 { v.swapAt(n * pairs + identity + k * 3 + a, n * pairs + identity + k * 3 + b) } }
            return try backend.tensor(v, t.shape)
        }
        return LTXTransformer.Prepared(batch: p.batch, grid: p.grid, text: p.text, textMask: p.textMask,
                                       rope: (try swapped(p.rope.cos), try swapped(p.rope.sin)), vaceContext: p.vaceContext, vaceScale: p.vaceScale)
    }

    @Test(arguments: [(0, 1), (1, 2)])
    func swappedRoPEAxesFailTheBound(a: Int, b: Int) throws {
        let backend = CPUBackend()
        let error = try Self.error(try Self.forward(try LTXFixtures.ltx(precision: .f32), backend: backend) {
            try Self.swappingAxes(a, b, of: $0, dim: 64, on: backend)
        })
        print("LTX RoPE axes \(a)↔\(b) swapped: relative L2 \(error)")
        #expect(error > 3e-2, "swapped RoPE axes should fail the bounds: relative L2 \(error)")
    }

    @Test func theCaptionMaskIsApplied() throws {
        let backend = CPUBackend()
        let weights = try LTXFixtures.ltx(precision: .f32)
        let ignored = try Self.forward(weights, backend: backend) { p in
            LTXTransformer.Prepared(batch: p.batch, grid: p.grid, text: p.text, textMask: try backend.tensor(.init(repeating: 1, count: 16), [1, 16]),
                                    rope: p.rope, vaceContext: p.vaceContext, vaceScale: p.vaceScale)
        }
        let masked = try Self.error(ignored), unmasked = try Self.error(ignored, "output_unmasked")
        print("LTX caption mask ignored: relative L2 \(masked) vs the masked reference, \(unmasked) vs diffusers' all-ones run")
        #expect(masked > 3e-2, "an ignored caption mask should fail the bounds: relative L2 \(masked)")
        #expect(unmasked <= 1e-5, "all-ones mask should match diffusers' unmasked run: relative L2 \(unmasked)")
        // No real token at all: the reference's −10000 bias shifts every logit equally (attends to all tokens).
        let model = try LTXTransformer(weights: weights, backend: backend)
        let x = try Self.inputs(backend)
        let empty = try model(latents: x.latents, timesteps: x.timesteps, context: x.context, contextMask: try backend.tensor(.init(repeating: 0, count: 16), [1, 16]))
        let emptyError = try Self.error(LTXFixtures.tokens(fromVideo: try backend.floats(empty), batch: 1, tokens: 72, channels: 128), "output_unmasked")
        #expect(emptyError <= 1e-5, "an all-padding mask should act like the reference's uniform shift: relative L2 \(emptyError)")
    }

    @Test func badInputsAreNamed() throws {
        let backend = CPUBackend()
        let model = try LTXTransformer(weights: try LTXFixtures.ltx(precision: .q8), backend: backend)
        let x = try Self.inputs(backend)
        #expect(throws: TensorError.self) { _ = try model.prepare(context: x.context, contextMask: try backend.tensor([1, 1], [1, 2]), grid: Self.grid) }
        let p = try model.prepare(context: x.context, contextMask: x.mask, grid: Self.grid)
        #expect(throws: TensorError.self) { _ = try model.step(p, latents: try backend.tensor(.init(repeating: 0, count: 128 * 24), [1, 128, 1, 4, 6]), timesteps: [1]) }
        #expect(throws: TensorError.self) { _ = try model.step(p, latents: x.latents, timesteps: [1], skip: .init(layers: [2], rows: [0])) }
        #expect(throws: TensorError.self) { _ = try model.prepare(context: x.context, contextMask: x.mask, grid: Self.grid, vaceContext: x.latents) }
    }
}
