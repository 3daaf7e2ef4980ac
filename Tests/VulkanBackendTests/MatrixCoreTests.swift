import CPUBackend
import Tensors
import Testing
@testable import VulkanBackend

/// The matrix-core linear (matmul_coopmat.glsl, VK_NV_cooperative_matrix). It needs an NVIDIA GPU:
/// lavapipe has no cooperative matrices, so there the choice is checked and the kernel tests skip.
@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct MatrixCoreTests {
    static var hasMatrixCores: Bool { TestDevice.device?.enabledFeatures.cooperativeMatrix == true }

    /// Only devices that list the kernel's fragment get it, only with f16 activations, and only for
    /// products of at least one 64 × 64 tile.
    @Test func choiceFollowsTheDeviceAndTheShape() throws {
        let backend = try #require(TestBackends.f16 ?? TestBackends.f32)
        let device = try TestDevice.result.get()
        let caps = device.capabilities
        #expect(device.enabledFeatures.cooperativeMatrix == (CooperativeMatrixSupport.supportsKernel(device.physicalDevice)
            && caps.shaderFloat16 && caps.storageBuffer16BitAccess && caps.vulkanMemoryModel))
        #expect(device.enabledFeatures.vulkanMemoryModel == device.enabledFeatures.cooperativeMatrix)
        #expect(backend.usesMatrixCores(rows: 1170, columns: 1536) == (Self.hasMatrixCores && backend.activations == .f16))
        #expect(!backend.usesMatrixCores(rows: 1, columns: 1536))
        if let f32 = TestBackends.f32 { #expect(!f32.usesMatrixCores(rows: 1170, columns: 1536)) }
    }

    /// Odd shapes (partial tiles, K not a multiple of the fragment) in every weight type, against the
    /// f32 CPU product of the same weight values. Bound: f16 inputs and outputs (≈ 3 roundings of
    /// 2⁻¹¹ relative, the f16 op-table bound).
    @Test(.enabled(if: MatrixCoreTests.hasMatrixCores, "no VK_NV_cooperative_matrix with a 16×16×16 f16 fragment on this device"),
          arguments: [DType.f16, .bf16, .q8(group: 32), .f32])
    func matchesTheCPU(_ dtype: DType) throws {
        let backend = try #require(TestBackends.f16)
        for (m, k, n) in [(64, 16, 64), (130, 72, 200), (1170, 1536, 96)] {
            #expect(backend.usesMatrixCores(rows: m, columns: n))
            let w = WeightBytes(pseudoRandomFloats(count: n * k, seed: 61, range: 0.2), [n, k], as: dtype)
            let exact = WeightBytes(w.values, [n, k], as: .f32)
            let x = pseudoRandomFloats(count: m * k, seed: 62, range: 1), bias = pseudoRandomFloats(count: n, seed: 63, range: 1)
            let cpu = CPUBackend()
            let reference = try cpu.floats(try cpu.linear(try cpu.tensor(x, [m, k]), try cpu.weight(exact.weightData), bias: try cpu.tensor(bias, [n])))
            let out = try backend.floats(try backend.linear(try backend.tensor(x, [m, k]), try backend.weight(w.weightData), bias: try backend.tensor(bias, [n])))
            let error = try ErrorMetric.compare(out, reference).relativeL2
            #expect(error <= 2e-3, "\(dtype) \(m)×\(k)→\(n): relative L2 \(error)")
        }
    }
}
