import CPUBackend
import Tensors
import Testing
@testable import VulkanBackend

/// Kernel variants the op table does not reach: the model's head dims in attention (its tiles are
/// sized per head dim), conv3d with stored f16 / bf16 / q8 kernels, and GEMM tiles of 128 × 128.
@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct KernelVariantTests {
    static var backends: [VulkanBackend] { [TestBackends.f32, TestBackends.f16].compactMap { $0 } }
    static func bound(_ backend: VulkanBackend) -> Double { backend.activations == .f16 ? 2e-3 : 1e-5 }

    @Test(arguments: [64, 128])
    func attentionAtModelHeadDims(_ headDim: Int) throws {
        let (heads, nq, nk) = (2, 21, 70), width = 2 * headDim
        let q = pseudoRandomFloats(count: nq * width, seed: 41, range: 1), k = pseudoRandomFloats(count: nk * width, seed: 42, range: 1)
        let v = pseudoRandomFloats(count: nk * width, seed: 43, range: 1)
        func run(_ b: any Backend) throws -> [Float] {
            try b.floats(try b.attention(q: try b.tensor(q, [1, nq, width]), k: try b.tensor(k, [1, nk, width]), v: try b.tensor(v, [1, nk, width]),
                                         heads: heads, keyMask: nil))
        }
        let reference = try run(CPUBackend())
        for backend in Self.backends {
            let error = try ErrorMetric.compare(try run(backend), reference).relativeL2
            #expect(error <= Self.bound(backend), "D \(headDim), \(backend.activations): relative L2 \(error)")
        }
    }

    @Test(arguments: [DType.f16, .bf16, .q8(group: 0), .q8(group: 27)])
    func conv3dWithStoredKernels(_ dtype: DType) throws {
        let kernel = WeightBytes(pseudoRandomFloats(count: 5 * 3 * 27, seed: 44, range: 0.3), [5, 3, 3, 3, 3], as: dtype)
        let exact = WeightBytes(kernel.values, [5, 3, 3, 3, 3], as: .f32)
        let x = pseudoRandomFloats(count: 3 * 4 * 6 * 7, seed: 45, range: 1), bias = pseudoRandomFloats(count: 5, seed: 46, range: 1)
        let options = Conv3DOptions(padding: (1, 1), temporalPadding: (2, 0))
        func run(_ b: any Backend, _ w: WeightBytes) throws -> [Float] {
            try b.floats(try b.conv3d(try b.tensor(x, [1, 3, 4, 6, 7]), try b.weight(w.weightData), bias: try b.tensor(bias, [5]), options))
        }
        let reference = try run(CPUBackend(), exact)
        for backend in Self.backends {
            let error = try ErrorMetric.compare(try run(backend, kernel), reference).relativeL2
            #expect(error <= Self.bound(backend), "\(dtype), \(backend.activations): relative L2 \(error)")
        }
    }

    /// 160 × 96 → 200: the 128 × 128 tile with partial tiles on both sides, f16 and q8 weights.
    @Test(arguments: [DType.f16, .q8(group: 32)])
    func largeTileLinear(_ dtype: DType) throws {
        let (m, k, n) = (160, 96, 200)
        let w = WeightBytes(pseudoRandomFloats(count: n * k, seed: 47, range: 0.2), [n, k], as: dtype)
        let exact = WeightBytes(w.values, [n, k], as: .f32)
        let x = pseudoRandomFloats(count: m * k, seed: 48, range: 1)
        #expect(GEMMTiles(rows: m, columns: n, sharedMemory: 32768).bm == 128)
        let reference = try CPUBackend().floats(try CPUBackend().linear(try CPUBackend().tensor(x, [m, k]), try CPUBackend().weight(exact.weightData), bias: nil))
        for backend in Self.backends {
            let out = try backend.floats(try backend.linear(try backend.tensor(x, [m, k]), try backend.weight(w.weightData), bias: nil))
            let error = try ErrorMetric.compare(out, reference).relativeL2
            #expect(error <= Self.bound(backend), "\(dtype), \(backend.activations): relative L2 \(error)")
        }
    }
}
