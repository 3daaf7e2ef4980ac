import CPUBackend
import Checkpoints
import Foundation
import Testing
import Tensors
import VKQ
@testable import Models

/// The LTX-Video VAE against diffusers' AutoencoderKLLTXVideo (float32 CPU) on the fixture VAEs.
@Suite struct LTXVAETests {
    static func tensor(_ r: [String: (values: [Float], shape: [Int])], _ name: String, on b: any Backend) throws -> Tensor {
        try b.tensor(r[name]!.values, Shape(r[name]!.shape))
    }

    static func error(_ actual: Tensor, _ expected: (values: [Float], shape: [Int]), on b: any Backend) throws -> Double {
        #expect(actual.shape.dims == expected.shape)
        return ModelFixtures.relativeL2(try b.floats(actual), expected.values)
    }

    @Test(arguments: ["official", "diffusers"])
    func v09EncodeAndDecodeMatchDiffusers(layout: String) throws {
        let b = CPUBackend()
        let r = try LTXVAEFixtures.reference("0.9")
        let vae = try LTXVAE(weights: try LTXVAEFixtures.vae("0.9", layout), backend: b)
        let latent = try vae.encode(try Self.tensor(r, "encode_input", on: b))
        let encodeError = try Self.error(latent, r["latents_normalized"]!, on: b)
        // The decoder takes normalised latents: the raw reference input, normalised with the file's statistics.
        let raw = try Self.tensor(r, "decode_input", on: b)
        let normalised = try b.binary(.div, try b.binary(.sub, raw, vae.latentMean), vae.latentStd)
        let decodeError = try Self.error(try vae.decode(normalised), r["decoded"]!, on: b)
        print("LTX VAE 0.9 (\(layout)) f32: encode relative L2 \(encodeError), decode \(decodeError)")
        #expect(encodeError <= 1e-5 && decodeError <= 1e-5)
    }
}
