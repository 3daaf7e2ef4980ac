import Foundation
import Testing
import Tensors
import VulkanBackend
@testable import Models

/// The Wan fixture forward through the Vulkan backend (lavapipe in CI) against diffusers.
/// The device for these tests; nil (and the suite skipped) without a Vulkan driver.
let modelsTestDevice: VulkanDevice? = try? VulkanDevice()

/// `VACEKIT_REQUIRE_VULKAN=1` (CI) runs the suite without a device, so that it fails rather than skips.
@Suite(.enabled(if: modelsTestDevice != nil || ProcessInfo.processInfo.environment["VACEKIT_REQUIRE_VULKAN"] == "1",
                "no Vulkan device (install mesa-vulkan-drivers for lavapipe)"))
struct WanTransformerVulkanTests {
    static var device: VulkanDevice? { modelsTestDevice }

    /// Measured on lavapipe: f32 activations 3.5e-6 … 3.8e-6, f16 activations 7.7e-4 … 8.5e-4.
    @Test(arguments: [(VulkanBackend.Activations.f32, 5e-6), (.f16, 1.2e-3)])
    func f32WeightsMatchDiffusers(activations: VulkanBackend.Activations, bound: Double) throws {
        let backend = try VulkanBackend(device: try #require(Self.device), activations: activations)
        let weights = try ModelFixtures.wan(precision: .f32)
        let r = try #require(WanTransformerTests.reference)
        for (name, scales) in [("noise_pred_scale_1", [Float(1)]), ("noise_pred_no_vace", [0, 0])] {
            let error = try ErrorMetric.compare(try WanTransformerTests.forward(weights, backend: backend, scales: scales), r[name]!.values).relativeL2
            print("Wan fixture forward on \(backend.name), f32 weights, \(name): relative L2 \(error)")
            #expect(error <= bound, "\(activations) \(name): relative L2 \(error)")
        }
        // One weight changed (one element + 0.01 with f32 activations, one matrix × 1.1 with f16): the bound rejects it.
        let wrong = try ErrorMetric.compare(activations == .f32 ? try WanTransformerTests.perturbedForward(weights, backend: backend, delta: 0.01)
                                                                : try WanTransformerTests.perturbedForward(weights, backend: backend, scale: 1.1),
                                            r["noise_pred_scale_1"]!.values)
        print("Wan fixture forward on \(backend.name), f32 weights, one weight changed: \(wrong)")
        #expect(wrong.relativeL2 > 2 * bound)
    }

    /// q8 weights with f16 activations, in both memory strategies: unified (integrated GPUs) and
    /// staged (discrete GPUs: device-local tensors, weights uploaded by copies).
    @Test(arguments: VulkanMemoryStrategy.allCases)
    func q8WeightsStayWithinTheQ8Bound(memory: VulkanMemoryStrategy) throws {
        let backend = try VulkanBackend(device: try #require(Self.device), activations: .f16, memory: memory)
        let r = try #require(WanTransformerTests.reference)
        let error = try ErrorMetric.compare(try WanTransformerTests.forward(try ModelFixtures.wan(precision: .q8, group: 32), backend: backend, scales: [1]),
                                             r["noise_pred_scale_1"]!.values).relativeL2
        print("Wan fixture forward on \(backend.name), q8/g32 weights: relative L2 \(error)")
        // Measured 5.7e-3 on lavapipe; devices with packed int8 dot products run W8A8 (int8 activations too).
        let bound = 1.2e-2
        #expect(error <= bound && error > 0)
        let wrong = try ErrorMetric.compare(try WanTransformerTests.perturbedForward(try ModelFixtures.wan(precision: .q8, group: 32), backend: backend, scale: 2),
                                            r["noise_pred_scale_1"]!.values)
        print("Wan fixture forward on \(backend.name), q8/g32 weights, blocks.1.ffn.2.weight × 2: \(wrong)")
        #expect(wrong.relativeL2 > 2 * bound)
    }

    /// Streamed block weights (uploaded per block through staging, released after it) compute
    /// exactly what resident ones do: the same kernels on the same bytes.
    @Test func streamedWeightsGiveTheResidentResult() throws {
        let device = try #require(Self.device)
        let weights = try ModelFixtures.wan(precision: .q8, group: 32)
        var outputs: [[Float]] = []
        for residency in WeightResidency.allCases {
            let backend = try VulkanBackend(device: device, activations: .f16, memory: .staged)
            outputs.append(try WanTransformerTests.forward(weights, backend: backend, scales: [1], residency: residency))
        }
        #expect(outputs[0] == outputs[1])
    }
}
