import CPUBackend
import Checkpoints
import Foundation
import Testing
import Tensors
import TestSupport
import VKQ
@testable import Models

/// The Wan2.1-VACE transformer against diffusers' WanVACETransformer3DModel (float32 CPU) on the
/// fixture model, from both checkpoint layouts and in every stored precision.
@Suite struct WanTransformerTests {
    static let reference = try? ModelFixtures.reference("wan_vace_forward")

    /// Runs the fixture forward on `backend` with a VACE scale list; returns the output values.
    static func forward(_ weights: any WeightProvider, backend: any Backend, scales: [Float], residency: WeightResidency = .resident) throws -> [Float] {
        let r = try #require(reference)
        let model = try WanTransformer(weights: weights, backend: backend, residency: residency)
        func t(_ name: String) throws -> Tensor { try backend.tensor(r[name]!.values, Shape(r[name]!.shape)) }
        let out = try model(latents: try t("latents"), timesteps: r["timestep"]!.values.map(Double.init), text: try t("context"),
                            vaceContext: try t("vace_context"), vaceScales: scales)
        #expect(out.shape.dims == r["noise_pred_scale_1"]!.shape)
        return try backend.floats(out)
    }

    /// (reference output, VACE scales) — the two scale cases and the no-VACE case (scale 0).
    static let scaleCases: [(String, [Float])] = [
        ("noise_pred_scale_1", [1]), ("noise_pred_scale_b", [0.5, 0.5]), ("noise_pred_scale_list", [0.5, 1.5]), ("noise_pred_no_vace", [0, 0]),
    ]

    /// Streamed block weights (loaded per block from the memory map, pages given back after it)
    /// compute exactly what resident ones do, in q8 and f32.
    @Test(arguments: [Recipe.Precision.q8, .f32])
    func streamedWeightsGiveTheResidentResult(precision: Recipe.Precision) throws {
        let weights = try ModelFixtures.wan(precision: precision)
        let resident = try Self.forward(weights, backend: CPUBackend(), scales: [0.5, 1.5])
        let streamed = try Self.forward(weights, backend: CPUBackend(), scales: [0.5, 1.5], residency: .streamed)
        #expect(streamed == resident)
    }

    /// f32 bound: measured 3.5e-6 … 3.8e-6 (diffusers computes the time sinusoid in float32, VaceKit in
    /// float64 as the original Wan2.1 code does).
    static let f32Bound = 5e-6

    /// The q8 bound: measured 5.6e-3 (group 32) / 6.2e-3 (per row) with W8A16 (AVX2); W8A8 (AVX-512 VNNI)
    /// rounds the activations to int8 too: 9e-3.
    static var q8Bound: Double { QuantizedMatmul.Mode.environment == .w8a8 ? 1.2e-2 : 8e-3 }

    /// The output of a model with one weight changed: main block 1's feed-forward output matrix, one
    /// element + `delta`, or all of it × `scale` (every precision's bound must reject it).
    static func perturbedForward(_ weights: VKQWeights, backend: any Backend, delta: Float = 0, scale: Float = 1) throws -> [Float] {
        let wrong = try PerturbedWeights(base: weights, name: "blocks.1.ffn.2.weight") { var v = $0.map { $0 * scale }; v[17] += delta; return v }
        return try forward(wrong, backend: backend, scales: [1])
    }

    @Test(arguments: ["official", "diffusers"])
    func f32MatchesDiffusers(layout: String) throws {
        let weights = try ModelFixtures.wan(layout, precision: .f32)
        let r = try #require(Self.reference)
        for (name, scales) in Self.scaleCases {
            let error = try ErrorMetric.compare(try Self.forward(weights, backend: CPUBackend(), scales: scales), r[name]!.values).relativeL2
            print("Wan fixture forward f32 (\(layout)) \(name): relative L2 \(error)")
            #expect(error <= Self.f32Bound, "\(layout) \(name): relative L2 \(error)")
        }
        // One weight changed by 0.01 (its values are ~0.1): the f32 bound rejects it.
        let wrong = try ErrorMetric.compare(try Self.perturbedForward(weights, backend: CPUBackend(), delta: 0.01), r["noise_pred_scale_1"]!.values)
        print("Wan fixture forward f32 (\(layout)), one weight + 0.01: \(wrong)")
        #expect(wrong.relativeL2 > 3 * Self.f32Bound)
    }

    /// Bounds near the measured figures: f16 3.8e-4, bf16 1.7e-3, q8 see `q8Bound`; for each, a model with
    /// one weight matrix scaled (× 1.1, 1.2, 2: an error each precision's rounding alone never reaches) fails it.
    @Test(arguments: [(Recipe.Precision.f16, 0, 5e-4, Float(1.1)), (.bf16, 0, 2.5e-3, 1.2), (.q8, 0, -1, 2), (.q8, 32, -1, 2)])
    func storedPrecisionsStayWithinTheirBounds(precision: Recipe.Precision, group: Int, bound: Double, scale: Float) throws {
        let bound = bound < 0 ? Self.q8Bound : bound
        let weights = try ModelFixtures.wan(precision: precision, group: group)
        let r = try #require(Self.reference)
        let error = try ErrorMetric.compare(try Self.forward(weights, backend: CPUBackend(), scales: [1]), r["noise_pred_scale_1"]!.values).relativeL2
        print("Wan fixture forward, \(precision) group \(group): relative L2 \(error)")
        #expect(error <= bound && error > 0, "\(precision)/\(group): relative L2 \(error)")
        let wrong = try ErrorMetric.compare(try Self.perturbedForward(weights, backend: CPUBackend(), scale: scale), r["noise_pred_scale_1"]!.values)
        print("Wan fixture forward, \(precision) group \(group), blocks.1.ffn.2.weight × \(scale): \(wrong)")
        #expect(wrong.relativeL2 > 2 * bound, "\(precision)/\(group): a changed weight must fail the bound \(bound)")
    }

    @Test func perturbingOneVACEWeightMovesTheOutputFarBeyondTheBound() throws {
        let weights = try ModelFixtures.wan(precision: .f32)
        let r = try #require(Self.reference)
        // 10% more on one context block's output projection.
        let perturbed = try PerturbedWeights(base: weights, name: "vace_blocks.1.after_proj.weight") { $0.map { $0 * 1.1 } }
        let error = try ErrorMetric.compare(try Self.forward(perturbed, backend: CPUBackend(), scales: [1]), r["noise_pred_scale_1"]!.values).relativeL2
        print("perturbed VACE weight: relative L2 \(error)")
        #expect(error > 100 * Self.f32Bound, "a perturbed VACE weight should be visible: relative L2 \(error)")
    }

    @Test func swappingRoPEAxesIsCaught() throws {
        // The height and width parts of the table exchanged: Wan's grid is 8×12 latents, so they differ.
        let (cos, sin) = WanRoPE.tables(frames: 3, height: 4, width: 6, headDim: 32)
        let (cosT, sinT) = WanRoPE.tables(frames: 3, height: 6, width: 4, headDim: 32)
        #expect(cos != cosT || sin != sinT)
        // And the forward depends on the axis split: same weights, transposed grid gives another output.
        let weights = try ModelFixtures.wan(precision: .f32)
        let r = try #require(Self.reference)
        let backend = CPUBackend()
        let model = try WanTransformer(weights: weights, backend: backend)
        let latents = r["latents"]!, vace = r["vace_context"]!
        func transposed(_ v: [Float], _ s: [Int]) -> [Float] {  // swap the last two axes
            let (h, w) = (s[3], s[4]), outer = v.count / (h * w)
            var out = v
            for o in 0 ..< outer { for y in 0 ..< h { for x in 0 ..< w { out[o * h * w + x * h + y] = v[o * h * w + y * w + x] } } }
            return out
        }
        let ls = latents.shape, vs = vace.shape
        let out = try model(latents: try backend.tensor(transposed(latents.values, ls), [ls[0], ls[1], ls[2], ls[4], ls[3]]),
                            timesteps: [700], text: try backend.tensor(r["context"]!.values, Shape(r["context"]!.shape)),
                            vaceContext: try backend.tensor(transposed(vace.values, vs), [vs[0], vs[1], vs[2], vs[4], vs[3]]), vaceScales: [1])
        let back = transposed(try backend.floats(out), [ls[0], ls[1], ls[2], ls[4], ls[3]])
        let error = try ErrorMetric.compare(back, r["noise_pred_scale_1"]!.values).relativeL2
        #expect(error > 1e-2, "a transposed grid must not give the same velocity (relative L2 \(error))")
    }
}

/// Wan's RoPE tables against the formula of the original code (Wan2.1 wan/modules/model.py `rope_params`:
/// per axis `outer(position, 1 / 10000^(arange(0, d_axis, 2) / d_axis))`, axes t/h/w of
/// `d − 4⌊d/6⌋`, `2⌊d/6⌋`, `2⌊d/6⌋` dims), and a model whose height and width axes are really swapped.
@Suite struct WanRoPETests {
    /// The angle of pair `p` at grid position (f, i, j), written from the axis split directly.
    static func angle(_ f: Int, _ i: Int, _ j: Int, pair p: Int, headDim d: Int, swapHW: Bool = false) -> Double {
        let dims = [d - 4 * (d / 6), 2 * (d / 6), 2 * (d / 6)]
        let positions = swapHW ? [f, j, i] : [f, i, j]
        var first = 0
        for axis in 0 ..< 3 {
            if p < first + dims[axis] / 2 {
                let k = p - first
                return Double(positions[axis]) / pow(10000, Double(2 * k) / Double(dims[axis]))
            }
            first += dims[axis] / 2
        }
        fatalError("pair \(p) beyond \(d / 2)")
    }

    @Test(arguments: [32, 128])
    func tablesFollowTheFormula(headDim: Int) throws {
        let (frames, height, width) = (3, 4, 6)
        let (cos, sin) = WanRoPE.tables(frames: frames, height: height, width: width, headDim: headDim)
        var worst = 0.0
        for f in 0 ..< frames { for i in 0 ..< height { for j in 0 ..< width { for p in 0 ..< headDim / 2 {
            let index = ((f * height + i) * width + j) * (headDim / 2) + p
            let a = Self.angle(f, i, j, pair: p, headDim: headDim)
            worst = max(worst, abs(Double(cos[index]) - Foundation.cos(a)), abs(Double(sin[index]) - Foundation.sin(a)))
        } } } }
        #expect(worst < 1e-7, "largest difference from the formula \(worst)")
        // Spot values: the first pair of each axis turns by exactly its position.
        let pairs = headDim / 2, t = (headDim - 4 * (headDim / 6)) / 2, s = headDim / 6
        let token = (1 * height + 2) * width + 3  // (f, i, j) = (1, 2, 3)
        #expect(cos[token * pairs] == Float(Foundation.cos(1.0)))
        #expect(cos[token * pairs + t] == Float(Foundation.cos(2.0)))
        #expect(cos[token * pairs + t + s] == Float(Foundation.cos(3.0)))
    }

    @Test func aModelWithSwappedHeightAndWidthAxesFails() throws {
        let r = try #require(WanTransformerTests.reference)
        let backend = CPUBackend()
        let model = try WanTransformer(weights: try ModelFixtures.wan(precision: .f32), backend: backend)
        func t(_ name: String) throws -> Tensor { try backend.tensor(r[name]!.values, Shape(r[name]!.shape)) }
        let latents = try t("latents")
        let run = try model.prepare(latentShape: latents.shape, text: try t("context"), vaceContext: try t("vace_context"), vaceScales: [1])
        let (f, h, w, d) = (run.frames, run.height, run.width, model.config.headDim)
        var cos: [Float] = [], sin: [Float] = []
        for a in 0 ..< f { for i in 0 ..< h { for j in 0 ..< w { for p in 0 ..< d / 2 {
            let angle = Self.angle(a, i, j, pair: p, headDim: d, swapHW: true)
            cos.append(Float(Foundation.cos(angle))); sin.append(Float(Foundation.sin(angle)))
        } } } }
        let swapped = WanTransformer.Prepared(batch: run.batch, frames: f, height: h, width: w, context: run.context,
                                              rope: (try backend.tensor(cos, [f * h * w, d / 2]), try backend.tensor(sin, [f * h * w, d / 2])),
                                              vaceTokens: run.vaceTokens, vaceScales: run.vaceScales)
        let expected = r["noise_pred_scale_1"]!.values
        let right = try ErrorMetric.compare(try backend.floats(try model.step(run, latents: latents, timesteps: [700])), expected)
        let wrong = try ErrorMetric.compare(try backend.floats(try model.step(swapped, latents: latents, timesteps: [700])), expected)
        print("Wan fixture forward, RoPE height/width swapped: \(wrong) (right axes: \(right))")
        #expect(right.relativeL2 <= WanTransformerTests.f32Bound)
        #expect(wrong.relativeL2 > 100 * WanTransformerTests.f32Bound)
    }
}

/// The sampler's split: one `prepare`, many `step`s, and the validation taps.
@Suite struct WanPreparedRunTests {
    @Test func preparedStepsMatchWholeCallsAndTapEveryPointInOrder() throws {
        let r = try #require(WanTransformerTests.reference)
        let backend = CPUBackend()
        let model = try WanTransformer(weights: try ModelFixtures.wan(precision: .f32), backend: backend)
        func t(_ name: String) throws -> Tensor { try backend.tensor(r[name]!.values, Shape(r[name]!.shape)) }
        let latents = try t("latents"), text = try t("context"), vace = try t("vace_context")
        let timesteps = r["timestep"]!.values.map(Double.init)
        let run = try model.prepare(latentShape: latents.shape, text: text, vaceContext: vace, vaceScales: [0.5, 1.5])

        var points: [String] = []
        let first = try backend.floats(try model.step(run, latents: latents, timesteps: timesteps) { name, _ in points.append(name) })
        let shifted = try backend.floats(try model.step(run, latents: latents, timesteps: timesteps.map { $0 * 0.5 }))
        let whole = try backend.floats(try model(latents: latents, timesteps: timesteps.map { $0 * 0.5 }, text: text,
                                                 vaceContext: vace, vaceScales: [0.5, 1.5]))
        #expect(shifted == whole, "a prepared run must compute what a whole call does")
        #expect(try ErrorMetric.compare(first, r["noise_pred_scale_list"]!.values, what: "step").relativeL2 <= 1e-5)
        #expect(try ErrorMetric.compare(shifted, first, what: "timestep").relativeL2 > 1e-3, "the step must read its timestep")

        let c = model.config
        var expected = ["time_embedding", "text_embedding", "patch_embedding"]
        for layer in 0 ..< c.numLayers {
            if let k = c.vaceLayers.firstIndex(of: layer) { expected.append("vace_blocks.\(k)") }
            expected.append("blocks.\(layer)")
        }
        expected.append("head")
        #expect(points == expected)
    }

    @Test func aVACEContextOfAnotherGridIsRefused() throws {
        let r = try #require(WanTransformerTests.reference)
        let backend = CPUBackend()
        let model = try WanTransformer(weights: try ModelFixtures.wan(precision: .f32), backend: backend)
        let latents = r["latents"]!, vace = r["vace_context"]!
        var shape = vace.shape
        shape[2] += 1
        let wrong = try backend.tensor([Float](repeating: 0, count: shape.reduce(1, *)), Shape(shape))
        #expect(throws: TensorError.self) {
            _ = try model.prepare(latentShape: Shape(latents.shape), text: try backend.tensor(r["context"]!.values, Shape(r["context"]!.shape)),
                                  vaceContext: wrong)
        }
    }
}
