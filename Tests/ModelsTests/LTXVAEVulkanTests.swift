import Foundation
import Testing
import Tensors
import VulkanBackend
@testable import Models

/// The LTX-Video VAE fixtures through the Vulkan backend (lavapipe in CI) against diffusers: the 0.9
/// encode and the 0.9.1 decode (timestep, given noise maps), streamed in time as on the CPU.
@Suite(.enabled(if: modelsTestDevice != nil, "no Vulkan device (install mesa-vulkan-drivers for lavapipe)"))
struct LTXVAEVulkanTests {
    @Test(arguments: [(VulkanBackend.Activations.f32, 1e-5), (.f16, 2e-3)])
    func encodeAndDecodeMatchDiffusers(activations: VulkanBackend.Activations, bound: Double) throws {
        let b = try VulkanBackend(device: try #require(modelsTestDevice), activations: activations)
        let r09 = try LTXVAEFixtures.reference("0.9")
        let v09 = try LTXVAE(weights: try LTXVAEFixtures.vae("0.9"), backend: b)
        let encodeError = try LTXVAETests.error(try v09.encode(try LTXVAETests.tensor(r09, "encode_input", on: b)), r09["latents_normalized"]!, on: b)
        let r = try LTXVAEFixtures.reference("0.9.1")
        let v091 = try LTXVAE(weights: try LTXVAEFixtures.vae("0.9.1"), backend: b)
        let decoded = try v091.decode(try LTXVAETests.tensor(r, "decode_input", on: b), options: try LTXVAETests.options(r, case: "decoded", on: b))
        let decodeError = try LTXVAETests.error(decoded, r["decoded"]!, on: b)
        print("LTX VAE on \(b.name), \(activations) activations: 0.9 encode relative L2 \(encodeError), 0.9.1 decode \(decodeError)")
        #expect(encodeError <= bound && decodeError <= bound)
    }
}
