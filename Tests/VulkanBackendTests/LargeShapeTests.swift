import CPUBackend
import Tensors
import Testing
@testable import VulkanBackend

/// The model's real sizes — a Wan2.1-1.3B FFN linear over 4680 tokens, self-attention over 4680
/// tokens with 12 heads of 128, a VAE-sized conv3d — on a real GPU against the CPU backend. Too slow
/// for lavapipe (minutes per op), so they run only on a GPU device (`vacekit devices` lists them).
@Suite(.enabled(if: TestDevice.isGPU, "needs a GPU device (lavapipe is a CPU device)"))
struct LargeShapeTests {
    static var backends: [VulkanBackend] {
        guard let device = TestDevice.device else { return [] }
        var backends = [try? VulkanBackend(device: device, activations: .f32, q8Mode: .w8a16)]
        if device.enabledFeatures.storageBuffer16BitAccess { backends.append(try? VulkanBackend(device: device, activations: .f16)) }
        return backends.compactMap { $0 }
    }

    static func bound(_ backend: VulkanBackend, q8: Bool = false) -> Double {
        q8 && backend.q8Kernel(backend.q8Mode) == .integerDotProduct ? 1e-2 : backend.activations == .f16 ? 3e-3 : 1e-4
    }

    @Test(arguments: [DType.f16, .q8(group: 0)])
    func ffnLinearAt4680Tokens(_ dtype: DType) throws {
        let (m, k, n) = (4680, 1536, 8960)
        let w = WeightBytes(pseudoRandomFloats(count: n * k, seed: 71, range: 0.05), [n, k], as: dtype)
        let exact = WeightBytes(w.values, [n, k], as: .f32)
        let x = pseudoRandomFloats(count: m * k, seed: 72, range: 1), bias = pseudoRandomFloats(count: n, seed: 73, range: 1)
        let cpu = CPUBackend()
        let reference = try cpu.floats(try cpu.linear(try cpu.tensor(x, [m, k]), try cpu.weight(exact.weightData), bias: try cpu.tensor(bias, [n])))
        for backend in Self.backends {
            let out = try backend.floats(try backend.linear(try backend.tensor(x, [m, k]), try backend.weight(w.weightData), bias: try backend.tensor(bias, [n])))
            let error = try ErrorMetric.compare(out, reference).relativeL2
            #expect(error <= Self.bound(backend, q8: dtype.isQuantized), "\(dtype) on \(backend.name): relative L2 \(error)")
        }
    }

    @Test func selfAttentionAt4680Tokens() throws {
        let (tokens, heads, d) = (4680, 12, 128)
        let q = pseudoRandomFloats(count: tokens * heads * d, seed: 74, range: 1)
        let k = pseudoRandomFloats(count: tokens * heads * d, seed: 75, range: 1)
        let v = pseudoRandomFloats(count: tokens * heads * d, seed: 76, range: 1)
        func run(_ b: any Backend) throws -> [Float] {
            let shape = Shape([1, tokens, heads * d])
            return try b.floats(try b.attention(q: try b.tensor(q, shape), k: try b.tensor(k, shape), v: try b.tensor(v, shape), heads: heads, keyMask: nil))
        }
        let reference = try run(CPUBackend())
        for backend in Self.backends {
            let error = try ErrorMetric.compare(try run(backend), reference).relativeL2
            #expect(error <= Self.bound(backend), "attention on \(backend.name): relative L2 \(error)")
        }
    }

    @Test func vaeConvAtQuarterResolution() throws {
        let (c, t, h, w) = (96, 3, 60, 104)
        let kernel = WeightBytes(pseudoRandomFloats(count: c * c * 27, seed: 77, range: 0.05), [c, c, 3, 3, 3], as: .f16)
        let x = pseudoRandomFloats(count: c * t * h * w, seed: 78, range: 1)
        let options = Conv3DOptions(padding: (1, 1), temporalPadding: (2, 0))
        func run(_ b: any Backend) throws -> [Float] {
            try b.floats(try b.conv3d(try b.tensor(x, [1, c, t, h, w]), try b.weight(kernel.weightData), bias: nil, options))
        }
        let reference = try run(CPUBackend())
        for backend in Self.backends {
            let error = try ErrorMetric.compare(try run(backend), reference).relativeL2
            #expect(error <= Self.bound(backend), "conv3d on \(backend.name): relative L2 \(error)")
        }
    }
}
