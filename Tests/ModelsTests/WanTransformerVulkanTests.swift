import Foundation
import Testing
import Tensors
import VulkanBackend
@testable import Models

/// The Wan fixture forward through the Vulkan backend (lavapipe in CI) against diffusers.
/// The device for these tests; nil (and the suite skipped) without a Vulkan driver.
let modelsTestDevice: VulkanDevice? = try? VulkanDevice()

@Suite(.enabled(if: modelsTestDevice != nil, "no Vulkan device (install mesa-vulkan-drivers for lavapipe)"))
struct WanTransformerVulkanTests {
    static var device: VulkanDevice? { modelsTestDevice }

    @Test(arguments: [(VulkanBackend.Activations.f32, 1e-5), (.f16, 2e-3)])
    func f32WeightsMatchDiffusers(activations: VulkanBackend.Activations, bound: Double) throws {
        let backend = try VulkanBackend(device: try #require(Self.device), activations: activations)
        let weights = try ModelFixtures.wan(precision: .f32)
        let r = try #require(WanTransformerTests.reference)
        for (name, scales) in [("noise_pred_scale_1", [Float(1)]), ("noise_pred_no_vace", [0, 0])] {
            let error = try ErrorMetric.compare(try WanTransformerTests.forward(weights, backend: backend, scales: scales), r[name]!.values).relativeL2
            print("Wan fixture forward on \(backend.name), f32 weights, \(name): relative L2 \(error)")
            #expect(error <= bound, "\(activations) \(name): relative L2 \(error)")
        }
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
        #expect(error <= 3e-2 && error > 0)
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
