import BackendConformance
import Foundation
import Tensors
import Testing
@testable import VulkanBackend
import CPUBackend

/// Backends shared by the Vulkan op tests: f32 activations, and f16 activations where the device
/// has 16-bit storage (nil otherwise, and those tests are skipped). q8 is pinned to W8A16: the op table
/// compares q8 with the dequantized weight, which W8A16 uses exactly (W8A8: Q8A8LinearTests).
enum TestBackends {
    static let f32: VulkanBackend? = TestDevice.device.flatMap { try? VulkanBackend(device: $0, activations: .f32, q8Mode: .w8a16) }
    static let f16: VulkanBackend? = TestDevice.device.flatMap { device in
        device.enabledFeatures.storageBuffer16BitAccess ? try? VulkanBackend(device: device, activations: .f16, q8Mode: .w8a16) : nil
    }
    /// Device-local tensors behind staged copies: the discrete-GPU memory path, run on any device.
    static let staged: VulkanBackend? = TestDevice.device.flatMap { try? VulkanBackend(device: $0, activations: .f32, q8Mode: .w8a16, memory: .staged) }
    static let seed: UInt64 = ProcessInfo.processInfo.environment["VACEKIT_TEST_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1 ... 1 << 40)
}

/// Every op of the contract on Vulkan against the float64 reference (the shared op table). Fresh
/// random inputs each run; the seed is printed with any failure (VACEKIT_TEST_SEED replays one).
@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct VulkanOpTableTests {
    /// f32 activations: f32 math throughout, layout exact. q8 compares against the dequantized
    /// weight, which the kernel uses exactly.
    static func f32Bound(_ kind: OpCase.Kind) -> Double {
        switch kind {
        case .layout: 0
        case .math, .quantizedMatmul: 1e-5
        }
    }

    @Test(arguments: OpTable.cases)
    func f32Activations(_ op: OpCase) throws {
        let backend = try #require(TestBackends.f32)
        let result = try op.evaluate(on: backend, seed: TestBackends.seed)
        #expect(result.relativeL2 <= Self.f32Bound(op.kind), "\(op.name): relative L2 \(result.relativeL2), max |Δ| \(result.maxAbs) (seed \(TestBackends.seed))")
    }

    /// Staged memory moves the same bytes by copies instead of through a mapping: the same bounds.
    @Test(arguments: OpTable.cases)
    func stagedMemory(_ op: OpCase) throws {
        let backend = try #require(TestBackends.staged)
        #expect(backend.memory == .staged)
        let result = try op.evaluate(on: backend, seed: TestBackends.seed)
        #expect(result.relativeL2 <= Self.f32Bound(op.kind), "\(op.name): relative L2 \(result.relativeL2), max |Δ| \(result.maxAbs) (seed \(TestBackends.seed))")
    }

    /// f16 activations: inputs and outputs rounded to f16 (about 3e-4 relative each), math in f32.
    @Test(.enabled(if: TestDevice.device?.enabledFeatures.storageBuffer16BitAccess == true, "device has no 16-bit storage"),
          arguments: OpTable.cases)
    func f16Activations(_ op: OpCase) throws {
        let backend = try #require(TestBackends.f16)
        #expect(backend.activations == .f16)
        let result = try op.evaluate(on: backend, seed: TestBackends.seed)
        #expect(result.relativeL2 <= 2e-3, "\(op.name): relative L2 \(result.relativeL2), max |Δ| \(result.maxAbs) (seed \(TestBackends.seed))")
    }
}

/// The shape table on Vulkan: each wrong-shaped call is refused with the same error as on the CPU
/// (op, operand, expected and actual), before any dispatch.
@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct VulkanOpShapeTableTests {
    static let cpu = CPUBackend()

    @Test(arguments: OpShapeTable.cases)
    func sameErrorAsTheCPU(_ call: OpShapeCase) throws {
        let backend = try #require(TestBackends.f32)
        let error = try #require(call.error(on: backend) as? TensorError, "\(call.name): accepted or not a TensorError on Vulkan")
        let cpuError = try #require(call.error(on: Self.cpu) as? TensorError, "\(call.name): accepted on the CPU")
        #expect(error.op == call.op && error.operand == call.operand, "\(call.name): \(error)")
        #expect(error == cpuError, "\(call.name): Vulkan \(error), CPU \(cpuError)")
    }
}
