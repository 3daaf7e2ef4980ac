import Foundation
import Testing
import Tensors
import TestSupport
import VulkanBackend
@testable import Models

let textTestDevice: VulkanDevice? = try? VulkanDevice()

/// The encoders through the Vulkan backend (lavapipe in CI): the biased attention kernel end to end.
@Suite(.enabled(if: textTestDevice != nil, "no Vulkan device (install mesa-vulkan-drivers for lavapipe)"))
struct T5EncoderVulkanTests {
    @Test(arguments: [("umt5", VulkanBackend.Activations.f32, 1e-5), ("umt5", .f16, 2e-3), ("t5", .f32, 1e-5)])
    func f32WeightsMatchTransformers(model: String, activations: VulkanBackend.Activations, bound: Double) throws {
        let backend = try VulkanBackend(device: try #require(textTestDevice), activations: activations)
        let e = try T5EncoderTests.error(try TextFixtures.weights(model, precision: .f32), model, backend: backend)
        print("\(model) fixture encoder on \(backend.name), \(activations) activations: \(e)")
        #expect(e.within(bound), "\(e)")
    }

    @Test func perturbedPositionTableFailsTheF16Bound() throws {
        let backend = try VulkanBackend(device: try #require(textTestDevice), activations: .f16)
        let perturbed = try PerturbedWeights(base: try TextFixtures.weights("umt5", precision: .f32), name: "blocks.2.pos_embedding.embedding.weight") {
            var v = $0
            v[3] += 2
            return v
        }
        let e = try T5EncoderTests.error(perturbed, "umt5", backend: backend)
        print("umt5 with a perturbed position table on \(backend.name): \(e)")
        #expect(!e.within(2e-3), "\(e)")
    }
}
