import CPUBackend
import Checkpoints
import Foundation
import Testing
import Tensors
import TestSupport
import VKQ
@testable import Models

/// A weight provider with an edited config (for the sensitivity checks).
struct EditedConfig: WeightProvider {
    let base: any WeightProvider
    let edit: @Sendable (inout [String: Any]) -> Void
    var family: String { base.family }
    var configJSON: Data {
        var object = (try? JSONSerialization.jsonObject(with: base.configJSON)) as? [String: Any] ?? [:]
        edit(&object)
        return (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
    }
    func contains(_ name: String) -> Bool { base.contains(name) }
    func weightData(_ name: String) throws -> WeightData { try base.weightData(name) }
}

/// Chunking, sensitivity, precision and bad-input behaviour of the LTX-Video VAE.
@Suite struct LTXVAEBehaviourTests {
    typealias Reference = [String: (values: [Float], shape: [Int])]

    static func decode091(_ weights: any WeightProvider, _ r: Reference, chunk: Int? = 1, on b: any Backend = CPUBackend()) throws -> [Float] {
        let vae = try LTXVAE(weights: weights, backend: b)
        vae.decodeChunkFrames = chunk
        return try b.floats(try vae.decode(try LTXVAETests.tensor(r, "decode_input", on: b), options: try LTXVAETests.options(r, case: "decoded", on: b)))
    }

    static func random(_ shape: [Int], seed: UInt64, on b: any Backend) throws -> Tensor {
        var noise = NormalNoise(seed: seed)
        return try b.tensor(noise.values(shape.reduce(1, *)).map { max(-1, min(1, $0 * 0.5)) }, Shape(shape))
    }

    /// Chunked in time == whole video, in both directions, for each version (25 frames: first + 3 chunks
    /// of 8; 4 latent frames decoded 1, 3 or all at a time; convs one output frame per call).
    @Test(arguments: ["0.9", "0.9.1", "0.9.5"])
    func chunkedEqualsWhole(version: String) throws {
        let b = CPUBackend()
        let vae = try LTXVAE(weights: try LTXVAEFixtures.vae(version), backend: b)
        let video = try Self.random([1, 3, 25, 32, 64], seed: 7, on: b)
        vae.encodeChunkFrames = nil
        let whole = try b.floats(try vae.encode(video))
        var worst = 0.0
        for chunk in [8, 16] {
            vae.encodeChunkFrames = chunk
            worst = max(worst, ModelFixtures.relativeL2(try b.floats(try vae.encode(video)), whole))
        }
        let latent = try Self.random([1, vae.latentChannels, 4, 1, 2], seed: 8, on: b)
        vae.decodeChunkFrames = nil
        let options = VAEDecodeOptions(seed: 3)
        let decoded = try b.floats(try vae.decode(latent, options: options))
        for chunk in [1, 3] {
            vae.decodeChunkFrames = chunk
            worst = max(worst, ModelFixtures.relativeL2(try b.floats(try vae.decode(latent, options: options)), decoded))
        }
        vae.encodeChunkFrames = nil
        worst = max(worst, ModelFixtures.relativeL2(try b.floats(try vae.encode(video)), whole))
        print("LTX VAE \(version): chunked vs whole, worst relative L2 \(worst)")
        #expect(worst <= 1e-6)
    }

    /// A chunked decode hands frames from stage to stage in pieces: the backlog of the non-causal convs
    /// (one frame each, released by the last chunk) never reaches the output convolution as one tensor of
    /// most of the video, which had set the peak memory of long decodes (BENCHMARKS.md, 97 frames).
    @Test func theLastChunksBacklogReachesTheHeadInPieces() throws {
        let b = CPUBackend()
        let vae = try LTXVAE(weights: try LTXVAEFixtures.vae("0.9"), backend: b)
        let latent = try Self.random([1, vae.latentChannels, 6, 1, 2], seed: 9, on: b)
        nonisolated(unsafe) var frames: [Int] = []
        vae.tap = { point, x in if point == "decoder.conv_out" { frames.append(x.shape[2]) } }
        vae.decodeChunkFrames = 1
        let video = try vae.decode(latent, options: VAEDecodeOptions(seed: 3))
        print("LTX VAE 0.9, 6 latent frames a frame at a time: conv_out frames per call \(frames)")
        #expect(frames.reduce(0, +) == video.shape[2])
        #expect((frames.max() ?? 0) <= LTXVAE.pieceFrames + 2, "\(frames)")
    }

    /// The bound of the reference tests fails on a wrong VAE: one changed weight, a hard-coded multiplier
    /// of 1000, a symmetric pad swapped for a causal one, or a chunk decoded without the frame carried over from the next one.
    @Test func wrongModelsFailTheBound() throws {
        let r = try LTXVAEFixtures.reference("0.9.1")
        let weights = try LTXVAEFixtures.vae("0.9.1")
        let expected = r["decoded"]!.values
        var errors: [String: Double] = [:]
        let scale = try PerturbedWeights(base: weights, name: "decoder.up_blocks.2.res_blocks.0.per_channel_scale1") { $0.map { $0 * 1.1 } }
        errors["noise scale ×1.1"] = ModelFixtures.relativeL2(try Self.decode091(scale, r), expected)
        let multiplier = try PerturbedWeights(base: weights, name: "decoder.timestep_scale_multiplier") { _ in [1000] }
        errors["multiplier 1000"] = ModelFixtures.relativeL2(try Self.decode091(multiplier, r), expected)
        let causal = EditedConfig(base: weights) { $0["causal_decoder"] = true }
        errors["causal decoder pad"] = ModelFixtures.relativeL2(try Self.decode091(causal, r), expected)
        // The first latent frame decoded without the frame the non-causal convs look ahead to: its first
        // output frame must differ from the whole decode's.
        let b = CPUBackend()
        let vae = try LTXVAE(weights: weights, backend: b)
        var options = try LTXVAETests.options(r, case: "decoded", on: b)
        options.noise["decode_noise"] = try b.slice(options.noise["decode_noise"]!, axis: 2, 0 ..< 1)
        let alone = try b.floats(try vae.decode(try b.slice(try LTXVAETests.tensor(r, "decode_input", on: b), axis: 2, 0 ..< 1), options: options))
        let first = try b.floats(try b.slice(try LTXVAETests.tensor(r, "decoded", on: b), axis: 2, 0 ..< 1))
        errors["no look-ahead frame"] = alone.count == first.count ? ModelFixtures.relativeL2(alone, first) : .infinity
        print("LTX VAE 0.9.1 wrong models: \(errors.sorted { $0.key < $1.key })")
        for (what, error) in errors { #expect(error > 1e-3, "\(what): relative L2 \(error) is within the bound") }
    }

    /// One encoder weight 5% larger moves the encode past both bounds (1e-5 f32, 2e-3 f16), per version.
    @Test(arguments: [("0.9", "encoder.down_blocks.1.conv.weight"), ("0.9.1", "encoder.down_blocks.5.conv1.conv.weight"),
                      ("0.9.5", "encoder.down_blocks.3.conv.conv.weight")])
    func aPerturbedEncoderWeightFailsTheBound(version: String, name: String) throws {
        let b = CPUBackend()
        let r = try LTXVAEFixtures.reference(version)
        let perturbed = try PerturbedWeights(base: try LTXVAEFixtures.vae(version), name: name) { $0.map { $0 * 1.05 } }
        let vae = try LTXVAE(weights: perturbed, backend: b)
        let error = ModelFixtures.relativeL2(try b.floats(try vae.encode(try LTXVAETests.tensor(r, "encode_input", on: b))), r["latents_normalized"]!.values)
        print("LTX VAE \(version), \(name) ×1.05: encode relative L2 \(error)")
        #expect(error > 2e-3)
    }

    /// f16-stored convolutions on the CPU (f32 activations) stay within the f16 bound.
    @Test(arguments: ["0.9", "0.9.1"])
    func f16WeightsStayWithinTheF16Bound(version: String) throws {
        let b = CPUBackend()
        let r = try LTXVAEFixtures.reference(version)
        let vae = try LTXVAE(weights: try LTXVAEFixtures.vae(version, precision: .f16), backend: b)
        let encoded = try b.floats(try vae.encode(try LTXVAETests.tensor(r, "encode_input", on: b)))
        let encodeError = ModelFixtures.relativeL2(encoded, r["latents_normalized"]!.values)
        let decoded: [Float]
        if version == "0.9" {
            let raw = try LTXVAETests.tensor(r, "decode_input", on: b)
            decoded = try b.floats(try vae.decode(try b.binary(.div, try b.binary(.sub, raw, vae.latentMean), vae.latentStd)))
        } else {
            decoded = try Self.decode091(try LTXVAEFixtures.vae(version, precision: .f16), r)
        }
        let decodeError = ModelFixtures.relativeL2(decoded, r[version == "0.9" ? "decoded" : "decoded"]!.values)
        print("LTX VAE \(version) f16 weights: encode relative L2 \(encodeError), decode \(decodeError)")
        #expect(encodeError <= 2e-3 && decodeError <= 2e-3 && encodeError > 0 && decodeError > 0)
    }

    /// Spatial tiling is diffusers' `tiled_decode` (64-pixel tiles every 32 pixels on a 96×128 frame, 0.9.5
    /// fixture): tiled matches diffusers' tiled decode, and both are far from the untiled one on this random model
    /// (a tile does not see its neighbours); one tile covering the frame is the untiled decode exactly.
    @Test func tiledDecodeMatchesDiffusersTiling() throws {
        let b = CPUBackend()
        let r = try LTXVAEFixtures.reference("0.9.5")
        let vae = try LTXVAE(weights: try LTXVAEFixtures.vae("0.9.5"), backend: b)
        let latent = try LTXVAETests.tensor(r, "tiles_input", on: b)
        let untiled = try vae.decode(latent, options: .init(timestep: 0.05, noiseScale: 0))
        let tiled = try vae.decode(latent, options: .init(timestep: 0.05, noiseScale: 0, tile: 64, tileOverlap: 32))
        let single = try vae.decode(latent, options: .init(timestep: 0.05, noiseScale: 0, tile: 128, tileOverlap: 0))
        let untiledError = try LTXVAETests.error(untiled, r["decoded_untiled"]!, on: b)
        let tiledError = try LTXVAETests.error(tiled, r["decoded_tiled"]!, on: b)
        let seam = ModelFixtures.relativeL2(try b.floats(tiled), r["decoded_untiled"]!.values)
        print("LTX VAE 0.9.5 tiled 64/32 vs diffusers tiled: relative L2 \(tiledError); untiled vs diffusers \(untiledError); tiled vs untiled \(seam)")
        #expect(tiledError <= 1e-5 && untiledError <= 1e-5)
        #expect(seam > 1e-2)
        #expect(try b.floats(single) == b.floats(untiled))
    }

    @Test func badInputsAreNamed() throws {
        let b = CPUBackend()
        let v09 = try LTXVAE(weights: try LTXVAEFixtures.vae("0.9"), backend: b)
        let v091 = try LTXVAE(weights: try LTXVAEFixtures.vae("0.9.1"), backend: b)
        func expectError(_ words: [String], _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("no error; expected one naming \(words)")
            } catch {
                for word in words { #expect("\(error)".contains(word), "\(error) does not name \(word)") }
            }
        }
        expectError(["frames", "8k+1"]) { _ = try v09.encode(try b.tensor(Array(repeating: 0, count: 3 * 8 * 32 * 32), [1, 3, 8, 32, 32])) }
        expectError(["multiples of 32"]) { _ = try v09.encode(try b.tensor(Array(repeating: 0, count: 3 * 40 * 32), [1, 3, 1, 40, 32])) }
        expectError(["video", "[B, 3"]) { _ = try v09.encode(try b.tensor(Array(repeating: 0, count: 4 * 32 * 32), [1, 4, 1, 32, 32])) }
        expectError(["latent", "[B, 128"]) { _ = try v09.decode(try b.tensor(Array(repeating: 0, count: 16 * 2), [1, 16, 1, 1, 2])) }
        let latent = try b.tensor(Array(repeating: 0, count: 16 * 2), [1, 16, 1, 1, 2])
        expectError(["--timestep"]) { _ = try v09.decode(try b.tensor(Array(repeating: 0, count: 128 * 2), [1, 128, 1, 1, 2]), options: .init(timestep: 0.05)) }
        expectError(["--vae-tile", "multiples of 32"]) { _ = try v091.decode(latent, options: .init(tile: 100)) }
        let map = try b.tensor(Array(repeating: 0, count: 6), [2, 3])
        expectError(["decoder_noise.up_blocks.2.res_blocks.0.per_channel_scale1", "[2, 3]", "expected [2, 4]"]) {
            _ = try v091.decode(latent, options: .init(noise: ["decoder_noise.up_blocks.2.res_blocks.0.per_channel_scale1": map]))
        }
        expectError(["unknown noise map", "decoder_noise.up_blocks.0.res_blocks.0.per_channel_scale1"]) {
            _ = try v091.decode(latent, options: .init(noise: ["decoder_noise.up_blocks.0.res_blocks.0.per_channel_scale1": map]))
        }
        expectError(["decode_noise", "[1, 16, 1, 1, 2]"]) { _ = try v091.decode(latent, options: .init(noise: ["decode_noise": map])) }
    }
}
