import CPUBackend
import Checkpoints
import Foundation
import Testing
import Tensors
import TestSupport
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

    /// The 0.9 VAE stored in bf16 (bf16 convolutions: the bf16 conv3d where the CPU has AVX512_BF16) stays within
    /// a bf16 bound, and the same file with one perturbed decoder weight does not.
    @Test func v09StoredInBF16StaysWithinItsBound() throws {
        let b = CPUBackend()
        let r = try LTXVAEFixtures.reference("0.9")
        let weights = try LTXVAEFixtures.vae("0.9", precision: .bf16)
        let vae = try LTXVAE(weights: weights, backend: b)
        let normalised = try b.binary(.div, try b.binary(.sub, try Self.tensor(r, "decode_input", on: b), vae.latentMean), vae.latentStd)
        let encodeError = try Self.error(try vae.encode(try Self.tensor(r, "encode_input", on: b)), r["latents_normalized"]!, on: b)
        let decodeError = try Self.error(try vae.decode(normalised), r["decoded"]!, on: b)
        let name = "decoder.conv_out.conv.weight"
        let perturbed = try PerturbedWeights(base: weights, name: name) { $0.enumerated().map { $0 % 7 == 0 ? $1 + 0.05 : $1 } }
        let wrongError = try Self.error(try LTXVAE(weights: perturbed, backend: b).decode(normalised), r["decoded"]!, on: b)
        print("LTX VAE 0.9 stored bf16 (CPU\(CPUBackend.bf16ConvAvailable ? ", bf16 conv3d" : "")): encode relative L2 \(encodeError), "
              + "decode \(decodeError); \(name) perturbed \(wrongError)")
        #expect(encodeError <= 1.5e-2 && decodeError <= 1.5e-2)
        #expect(wrongError > 1.5e-2)
    }

    /// The reference decode options of a 0.9.1 / 0.9.5 case: its timestep and noise scale, the recorded
    /// latent noise and every recorded decoder noise map.
    static func options(_ r: [String: (values: [Float], shape: [Int])], case name: String, on b: any Backend) throws -> VAEDecodeOptions {
        let (t, s): (Float, Float) = name == "decoded" ? (0.05, 0.025) : (0.2, 0)
        var noise: [String: Tensor] = [:]
        for key in r.keys where key == "decode_noise" || key.hasPrefix("decoder_noise.") { noise[key] = try tensor(r, key, on: b) }
        return VAEDecodeOptions(timestep: t, noiseScale: s, noise: noise)
    }

    @Test(arguments: [("0.9.1", "official"), ("0.9.1", "diffusers"), ("0.9.5", "official"), ("0.9.5", "diffusers")])
    func timestepConditionedVAEsMatchDiffusers(version: String, layout: String) throws {
        let b = CPUBackend()
        let r = try LTXVAEFixtures.reference(version)
        let weights = try LTXVAEFixtures.vae(version, layout)
        #expect(weights.family == "ltx-video-vae-\(version)")
        let vae = try LTXVAE(weights: weights, backend: b)
        let encodeError = try Self.error(try vae.encode(try Self.tensor(r, "encode_input", on: b)), r["latents_normalized"]!, on: b)
        var errors = [encodeError]
        for name in ["decoded", "decoded_t02_s0"] {
            let out = try vae.decode(try Self.tensor(r, "decode_input", on: b), options: try Self.options(r, case: name, on: b))
            errors.append(try Self.error(out, r[name]!, on: b))
        }
        print("LTX VAE \(version) (\(layout)) f32: encode relative L2 \(errors[0]), decode t=0.05 s=0.025 \(errors[1]), t=0.2 s=0 \(errors[2])")
        #expect(errors.allSatisfy { $0 <= 1e-5 }, "\(errors)")
    }
}
