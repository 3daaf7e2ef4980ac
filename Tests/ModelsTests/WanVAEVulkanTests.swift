import Foundation
import Testing
import Tensors
import VulkanBackend
@testable import Models

/// The Wan VAE fixture through the Vulkan backend (lavapipe in CI) against diffusers.
@Suite(.enabled(if: modelsTestDevice != nil, "no Vulkan device (install mesa-vulkan-drivers for lavapipe)"))
struct WanVAEVulkanTests {
    @Test(arguments: [(VulkanBackend.Activations.f32, 1e-5), (.f16, 2e-3)])
    func encodeAndDecodeMatchDiffusers(activations: VulkanBackend.Activations, bound: Double) throws {
        let backend = try VulkanBackend(device: try #require(modelsTestDevice), activations: activations)
        let vae = try WanVAE(weights: try ModelFixtures.wanVAE(), backend: backend)
        let encodeError = try WanVAETests.error(try vae.encode(try WanVAETests.tensor("encode_input", backend)), "latents_normalized", backend)
        let decodeError = try WanVAETests.error(try vae.decode(try WanVAETests.normalisedDecodeInput(vae, backend)), "decoded", backend)
        print("Wan VAE on \(backend.name): encode relative L2 \(encodeError), decode \(decodeError)")
        #expect(encodeError <= bound)
        #expect(decodeError <= bound)
    }

    /// Row bands on the device: the fixture's decode in 2 bands (its 4-row latent: each band's reach covers
    /// the frame, so the bands recompute it) equals the whole-frame decode to f32 rounding.
    @Test func rowBandsMatchTheWholeFrame() throws {
        let backend = try VulkanBackend(device: try #require(modelsTestDevice), activations: .f32)
        let vae = try WanVAE(weights: try ModelFixtures.wanVAE(), backend: backend)
        let latent = try WanVAETests.normalisedDecodeInput(vae, backend)
        let whole = try backend.floats(try vae.decode(latent))
        let banded = try backend.floats(try vae.decode(latent, options: VAEDecodeOptions(rowBands: 2)))
        let error = try ErrorMetric.compare(banded, whole, what: "2 bands").relativeL2
        print("Wan VAE on \(backend.name), 2 row bands vs whole frame: relative L2 \(error)")
        #expect(error <= 1e-6)
    }
}
