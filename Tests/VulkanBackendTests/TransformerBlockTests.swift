import CPUBackend
import Foundation
import Tensors
import Testing
@testable import VulkanBackend

/// A small Wan-style DiT block written against the Backend protocol only, with random weights:
/// adaLN-modulated self-attention (q/k RMSNorm, rotary), gated residual, affine LayerNorm and
/// cross-attention over a masked context, then a modulated GELU(tanh) FFN and a gated residual.
struct TinyWanBlock {
    static let (dim, heads, ffn) = (64, 4, 128)
    static var headDim: Int { dim / heads }

    /// Weights as stored: matrices in `matrixType`, norms / biases / modulation table in f32.
    let weights: [String: WeightBytes]

    init(matrixType: DType, seed: UInt64) {
        var seed = seed
        func next(_ shape: [Int], _ dtype: DType, range: Float) -> WeightBytes {
            seed += 1
            return WeightBytes(pseudoRandomFloats(count: shape.reduce(1, *), seed: seed, range: range), Shape(shape), as: dtype)
        }
        let (c, f) = (Self.dim, Self.ffn)
        var w: [String: WeightBytes] = ["modulation": next([1, 6, c], .f32, range: 0.5)]
        for name in ["q", "k", "v", "o", "cross.q", "cross.k", "cross.v", "cross.o"] {
            w[name + ".weight"] = next([c, c], matrixType, range: 0.2)
            w[name + ".bias"] = next([c], .f32, range: 0.1)
        }
        for name in ["norm_q", "norm_k", "cross.norm_q", "cross.norm_k", "norm3.weight", "norm3.bias"] {
            w[name] = next([c], .f32, range: 1)
        }
        w["ffn.0.weight"] = next([f, c], matrixType, range: 0.2)
        w["ffn.0.bias"] = next([f], .f32, range: 0.1)
        w["ffn.2.weight"] = next([c, f], matrixType, range: 0.15)
        w["ffn.2.bias"] = next([c], .f32, range: 0.1)
        weights = w
    }

    /// A copy with one element of one weight changed (to show the comparison notices).
    func perturbed(_ name: String, by delta: Float) -> TinyWanBlock {
        var copy = self
        let old = weights[name]!
        var values = old.values
        values[0] += delta
        var w = weights
        w[name] = WeightBytes(values, old.shape, as: old.dtype)
        copy = TinyWanBlock(weights: w)
        return copy
    }

    private init(weights: [String: WeightBytes]) { self.weights = weights }

    /// x [B, N, C], time embedding e [B, 6, C], context [B, L, C] with key mask [B, L],
    /// rotary tables [N, D/2] → [B, N, C].
    func forward(_ b: any Backend, x: Tensor, e: Tensor, context: Tensor, contextMask: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
        let w = try weights.mapValues { try b.weight($0.weightData) }
        func linear(_ x: Tensor, _ name: String) throws -> Tensor { try b.linear(x, w[name + ".weight"]!, bias: w[name + ".bias"]!) }
        // adaLN: six [B, 1, C] vectors (shift, scale, gate for attention; shift, scale, gate for the FFN).
        let modulation = try b.binary(.add, e, w["modulation"]!)
        let m = try (0 ..< 6).map { try b.slice(modulation, axis: 1, $0 ..< $0 + 1) }

        // Self-attention.
        let normed = try b.modulate(try b.layerNorm(x, weight: nil, bias: nil, eps: 1e-6), scale: m[1], shift: m[0])
        let q = try b.rotary(try b.rmsNorm(try linear(normed, "q"), weight: w["norm_q"]!, eps: 1e-6), cos: cos, sin: sin)
        let k = try b.rotary(try b.rmsNorm(try linear(normed, "k"), weight: w["norm_k"]!, eps: 1e-6), cos: cos, sin: sin)
        let attended = try b.attention(q: q, k: k, v: try linear(normed, "v"), heads: Self.heads, keyMask: nil)
        var h = try b.gatedResidual(x, try linear(attended, "o"), gate: m[2])

        // Cross-attention over the context.
        let crossIn = try b.layerNorm(h, weight: w["norm3.weight"]!, bias: w["norm3.bias"]!, eps: 1e-6)
        let cq = try b.rmsNorm(try linear(crossIn, "cross.q"), weight: w["cross.norm_q"]!, eps: 1e-6)
        let ck = try b.rmsNorm(try linear(context, "cross.k"), weight: w["cross.norm_k"]!, eps: 1e-6)
        let cross = try b.attention(q: cq, k: ck, v: try linear(context, "cross.v"), heads: Self.heads, keyMask: contextMask)
        h = try b.binary(.add, h, try linear(cross, "cross.o"))

        // Feed-forward.
        let ffnIn = try b.modulate(try b.layerNorm(h, weight: nil, bias: nil, eps: 1e-6), scale: m[4], shift: m[3])
        let ffn = try linear(try b.unary(.geluTanh, try linear(ffnIn, "ffn.0")), "ffn.2")
        return try b.gatedResidual(h, ffn, gate: m[5])
    }

    /// Runs the block on `backend` with fixed random inputs (B 2, N 24, L 10).
    func run(on backend: any Backend) throws -> [Float] {
        let (batches, tokens, contextLength, c) = (2, 24, 10, Self.dim)
        let pairs = Self.headDim / 2
        let angles = (0 ..< tokens * pairs).map { Float($0 / pairs) * powf(10000, -Float($0 % pairs) / Float(pairs)) }
        let mask = (0 ..< batches * contextLength).map { Float($0 / contextLength == 0 || $0 % contextLength < 6 ? 1 : 0) }
        let out = try forward(
            backend,
            x: try backend.tensor(pseudoRandomFloats(count: batches * tokens * c, seed: 101, range: 1), [batches, tokens, c]),
            e: try backend.tensor(pseudoRandomFloats(count: batches * 6 * c, seed: 102, range: 0.5), [batches, 6, c]),
            context: try backend.tensor(pseudoRandomFloats(count: batches * contextLength * c, seed: 103, range: 1), [batches, contextLength, c]),
            contextMask: try backend.tensor(mask, [batches, contextLength]),
            cos: try backend.tensor(angles.map { Foundation.cos($0) }, [tokens, pairs]),
            sin: try backend.tensor(angles.map { Foundation.sin($0) }, [tokens, pairs]))
        return try backend.floats(out)
    }
}

@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct TransformerBlockTests {
    /// f32 activations and f32 weights: the CPU's f32 results within f32 rounding.
    @Test func f32MatchesCPU() throws {
        let backend = try #require(TestBackends.f32)
        let block = TinyWanBlock(matrixType: .f32, seed: 1000)
        let reference = try block.run(on: CPUBackend())
        let error = try ErrorMetric.compare(try block.run(on: backend), reference).relativeL2
        #expect(error <= 1e-5, "relative L2 \(error)")
        // The comparison notices a single changed weight.
        let perturbed = try ErrorMetric.compare(try block.perturbed("cross.v.weight", by: 0.05).run(on: backend), reference).relativeL2
        #expect(perturbed > 20 * 1e-5, "a perturbed weight moved the output by only \(perturbed)")
    }

    /// f16 activations with f16 matrices (the CPU widens the same f16 values to f32).
    @Test(.enabled(if: TestDevice.device?.enabledFeatures.storageBuffer16BitAccess == true, "device has no 16-bit storage"))
    func f16MatchesCPU() throws {
        let backend = try #require(TestBackends.f16)
        let block = TinyWanBlock(matrixType: .f16, seed: 2000)
        let reference = try block.run(on: CPUBackend())
        let error = try ErrorMetric.compare(try block.run(on: backend), reference).relativeL2
        #expect(error <= 3e-3, "relative L2 \(error)")
        let perturbed = try ErrorMetric.compare(try block.perturbed("ffn.2.weight", by: 0.5).run(on: backend), reference).relativeL2
        #expect(perturbed > 3 * 3e-3, "a perturbed weight moved the output by only \(perturbed)")
    }

    /// q8 matrices (per-group scales) on Vulkan against the CPU with the dequantized values in f32.
    @Test func q8MatchesDequantizedOnCPU() throws {
        let backend = try #require(TestBackends.f32)
        let block = TinyWanBlock(matrixType: .q8(group: 32), seed: 3000)
        let dequantized = TinyWanBlock(dequantizing: block)
        let error = try ErrorMetric.compare(try block.run(on: backend), try dequantized.run(on: CPUBackend())).relativeL2
        #expect(error <= 1e-5, "relative L2 \(error)")
    }
}

extension TinyWanBlock {
    /// The same block with every weight stored as f32 (the values the stored weights hold).
    init(dequantizing block: TinyWanBlock) {
        self.init(weights: block.weights.mapValues { WeightBytes($0.values, $0.shape, as: .f32) })
    }
}
