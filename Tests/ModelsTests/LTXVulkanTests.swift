import Foundation
import Testing
import Tensors
import VulkanBackend
@testable import Models

/// The LTX-Video and VACE-LTX fixture forwards through the Vulkan backend (lavapipe in CI) against
/// diffusers and the original VACE code.
@Suite(.enabled(if: modelsTestDevice != nil, "no Vulkan device (install mesa-vulkan-drivers for lavapipe)"))
struct LTXVulkanTests {
    static var device: VulkanDevice? { modelsTestDevice }

    @Test(arguments: [(VulkanBackend.Activations.f32, 1e-5), (.f16, 2e-3)])
    func f32WeightsMatchTheReferences(activations: VulkanBackend.Activations, bound: Double) throws {
        let backend = try VulkanBackend(device: try #require(Self.device), activations: activations)
        let ltx = try LTXTransformerTests.error(try LTXTransformerTests.forward(try LTXFixtures.ltx(precision: .f32), backend: backend))
        print("LTX fixture forward on \(backend.name), f32 weights, \(activations) activations: relative L2 \(ltx)")
        #expect(ltx <= bound, "LTX \(activations): relative L2 \(ltx)")
        for name in ["scale_1", "stg_context_layer"] {
            let vace = try LTXVACETests.error(try LTXVACETests.forward(name, try LTXFixtures.vace(precision: .f32), backend: backend), name)
            print("VACE-LTX fixture forward on \(backend.name), f32 weights, \(activations) activations, \(name): relative L2 \(vace)")
            #expect(vace <= bound, "VACE-LTX \(activations) \(name): relative L2 \(vace)")
        }
    }

    @Test(arguments: [(VulkanBackend.Activations.f16, 2e-3)])
    func f16WeightsStayWithinTheF16Bound(activations: VulkanBackend.Activations, bound: Double) throws {
        let backend = try VulkanBackend(device: try #require(Self.device), activations: activations)
        let vace = try LTXVACETests.error(try LTXVACETests.forward("stg_plain_layer", try LTXFixtures.vace(precision: .f16), backend: backend), "stg_plain_layer")
        print("VACE-LTX fixture forward on \(backend.name), f16 weights: relative L2 \(vace)")
        #expect(vace <= bound && vace > 0)
    }

    @Test(arguments: VulkanMemoryStrategy.allCases)
    func q8WeightsStayWithinTheQ8Bound(memory: VulkanMemoryStrategy) throws {
        let backend = try VulkanBackend(device: try #require(Self.device), activations: .f16, memory: memory)
        let ltx = try LTXTransformerTests.error(try LTXTransformerTests.forward(try LTXFixtures.ltx(precision: .q8, group: 32), backend: backend))
        let vace = try LTXVACETests.error(try LTXVACETests.forward("scale_0.5", try LTXFixtures.vace(precision: .q8, group: 32), backend: backend), "scale_0.5")
        print("LTX / VACE-LTX fixture forwards on \(backend.name) (\(memory)), q8/g32 weights: relative L2 \(ltx) / \(vace)")
        #expect(ltx <= 3e-2 && ltx > 0 && vace <= 3e-2 && vace > 0)
    }
}
