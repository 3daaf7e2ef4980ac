import CPUBackend
import Checkpoints
import Foundation
import Testing
import Tensors
import TestSupport
import VKQ
@testable import Models

/// The Wan2.1 VAE against diffusers' AutoencoderKLWan (float32 CPU) on the fixture VAE
/// (base_dim 4, everything else as the released VAE), from both checkpoint layouts.
@Suite struct WanVAETests {
    static let reference = try? ModelFixtures.reference("wan_vae")

    static func tensor(_ name: String, _ backend: any Backend) throws -> Tensor {
        let r = try #require(reference)
        let entry = try #require(r[name], "fixture tensor \(name)")
        return try backend.tensor(entry.values, Shape(entry.shape))
    }

    /// The fixture's decode input is a raw posterior-space latent; `decode` takes it normalised.
    static func normalisedDecodeInput(_ vae: WanVAE, _ backend: any Backend) throws -> Tensor {
        let z = try #require(reference?["decode_input"])
        let plane = z.shape[2] * z.shape[3] * z.shape[4]
        let values = z.values.enumerated().map { i, v in
            let c = i / plane % z.shape[1]
            return (v - vae.config.latentsMean[c]) / vae.config.latentsStd[c]
        }
        return try backend.tensor(values, Shape(z.shape))
    }

    static func error(_ actual: Tensor, _ expected: String, _ backend: any Backend) throws -> Double {
        let r = try #require(reference?[expected])
        return try ErrorMetric.compare(try backend.floats(actual), r.values, what: expected).relativeL2
    }

    @Test(arguments: ["official", "diffusers"])
    func encodeAndDecodeMatchDiffusers(layout: String) throws {
        let backend = CPUBackend()
        let vae = try WanVAE(weights: try ModelFixtures.wanVAE(layout), backend: backend)
        let latent = try vae.encode(try Self.tensor("encode_input", backend))
        #expect(latent.shape.dims == [1, 16, 3, 4, 6])
        let encodeError = try Self.error(latent, "latents_normalized", backend)
        let video = try vae.decode(try Self.normalisedDecodeInput(vae, backend))
        #expect(video.shape.dims == [1, 3, 9, 32, 48])
        let decodeError = try Self.error(video, "decoded", backend)
        print("Wan VAE (\(layout)) f32 CPU: encode relative L2 \(encodeError), decode \(decodeError)")
        #expect(encodeError <= 1e-5)
        #expect(decodeError <= 1e-5)
    }

    /// The original's chunking (1, then 4 frames; one latent frame at a time) against one pass over the
    /// whole video, and a chunking with uneven pieces: equal to f32 rounding.
    @Test func chunkedAndWholeVideoAgree() throws {
        let backend = CPUBackend()
        let vae = try WanVAE(weights: try ModelFixtures.wanVAE(), backend: backend)
        let video = try Self.tensor("encode_input", backend)
        let chunked = try backend.floats(try vae.encode(video))
        let whole = try backend.floats(try vae.encode(video, chunks: [0 ..< 9], split: false))
        let uneven = try backend.floats(try vae.encode(video, chunks: [0 ..< 1, 1 ..< 9]))
        let unsplitEncode = try backend.floats(try vae.encode(video, chunks: WanVAE.chunks(frames: 9, first: 1, rest: 4), split: false))
        #expect(try ErrorMetric.compare(whole, chunked, what: "encode").relativeL2 <= 1e-6)
        #expect(try ErrorMetric.compare(uneven, chunked, what: "encode").relativeL2 <= 1e-6)
        #expect(try ErrorMetric.compare(unsplitEncode, chunked, what: "encode frame split").relativeL2 <= 1e-6)

        let latent = try Self.normalisedDecodeInput(vae, backend)
        let perFrame = try backend.floats(try vae.decode(latent))
        let wholeDecode = try backend.floats(try vae.decode(latent, chunks: [0 ..< 3], split: false))
        let pairs = try backend.floats(try vae.decode(latent, chunks: [0 ..< 1, 1 ..< 3], split: false))
        let unsplit = try backend.floats(try vae.decode(latent, chunks: WanVAE.chunks(frames: 3, first: 1, rest: 1), split: false))
        #expect(try ErrorMetric.compare(unsplit, perFrame, what: "frame split").relativeL2 <= 1e-6)
        #expect(try ErrorMetric.compare(wholeDecode, perFrame, what: "decode").relativeL2 <= 1e-6)
        #expect(try ErrorMetric.compare(pairs, perFrame, what: "decode").relativeL2 <= 1e-6)
    }

    /// Stored in f16 and bf16 (`convert --precision`): f16 convolutions are widened (f32 arithmetic), bf16 ones
    /// run the bf16 conv3d where the CPU has AVX512_BF16; each stays within its bound, and a VAE with one
    /// perturbed weight, stored the same way, does not.
    @Test(arguments: [(Recipe.Precision.f16, 2e-3), (.bf16, 1.5e-2)])
    func storedPrecisionsStayWithinTheirBounds(precision: Recipe.Precision, bound: Double) throws {
        let backend = CPUBackend()
        let weights = try ModelFixtures.wanVAE(precision: precision)
        let vae = try WanVAE(weights: weights, backend: backend)
        let latent = try Self.normalisedDecodeInput(vae, backend)
        let encodeError = try Self.error(try vae.encode(try Self.tensor("encode_input", backend)), "latents_normalized", backend)
        let decodeError = try Self.error(try vae.decode(latent), "decoded", backend)
        let name = "decoder.upsamples.3.time_conv.weight"
        let perturbed = try PerturbedWeights(base: weights, name: name) { $0.enumerated().map { $0 == 2 ? $1 + 0.5 : $1 } }
        let wrongError = try Self.error(try WanVAE(weights: perturbed, backend: backend).decode(latent), "decoded", backend)
        print("Wan VAE stored \(precision) (CPU\(precision == .bf16 && CPUBackend.bf16ConvAvailable ? ", bf16 conv3d" : "")): "
              + "encode relative L2 \(encodeError), decode \(decodeError); one weight perturbed \(wrongError)")
        #expect(encodeError <= bound && decodeError <= bound)
        #expect(wrongError > bound)
    }

    /// A CPU backend that keeps activations in f16 holds every cached frame so (half the memory) and
    /// stays within the f16 bound; the rounding is real (the result is not the f32 one).
    @Test func compactCachesStayWithinTheF16Bound() throws {
        let backend = CPUBackend(keptActivations: .f16)
        let vae = try WanVAE(weights: try ModelFixtures.wanVAE(), backend: backend)
        let encodeCache = WanVAECache(), decodeCache = WanVAECache()
        let latent = try vae.encode(try Self.tensor("encode_input", backend), chunks: WanVAE.chunks(frames: 9, first: 1, rest: 4), cache: encodeCache)
        let video = try vae.decode(try Self.normalisedDecodeInput(vae, backend), chunks: WanVAE.chunks(frames: 3, first: 1, rest: 1),
                                   cache: decodeCache)
        let (encodeError, decodeError) = (try Self.error(latent, "latents_normalized", backend), try Self.error(video, "decoded", backend))
        print("Wan VAE, caches in f16 (CPU): encode relative L2 \(encodeError), decode \(decodeError)")
        #expect(encodeError <= 2e-3 && decodeError <= 2e-3)
        #expect(encodeError > 1e-6 && decodeError > 1e-6, "the caches were not rounded")
        for cache in [encodeCache, decodeCache] {
            let held = cache.convFrames.values.flatMap { $0 } + Array(cache.frames.values)
            #expect(!held.isEmpty)
            // The head's partial sums (3 channels) are the one f32 entry: they are summed into, not concatenated.
            #expect(held.filter { $0.dtype != .f16 }.allSatisfy { $0.shape[1] == 3 })
        }
    }

    /// A cache that keeps one frame instead of two, a temporal pad behind instead of in front, or one
    /// perturbed weight each move the result far beyond the f32 bound.
    @Test func aWrongVAEFailsTheBound() throws {
        let backend = CPUBackend()
        let weights = try ModelFixtures.wanVAE()
        let vae = try WanVAE(weights: weights, backend: backend)
        let video = try Self.tensor("encode_input", backend)
        let latent = try Self.normalisedDecodeInput(vae, backend)
        for fault in [WanVAECache.Fault.dropFrame, .padBehind] {
            let encodeError = try Self.error(try vae.encode(video, chunks: WanVAE.chunks(frames: 9, first: 1, rest: 4), cache: WanVAECache(fault: fault)),
                                             "latents_normalized", backend)
            let decodeError = try Self.error(try vae.decode(latent, chunks: WanVAE.chunks(frames: 3, first: 1, rest: 1), cache: WanVAECache(fault: fault)),
                                             "decoded", backend)
            print("Wan VAE with \(fault): encode relative L2 \(encodeError), decode \(decodeError)")
            #expect(encodeError > 1e-2 && decodeError > 1e-2, "\(fault)")
        }
        let name = "decoder.upsamples.3.time_conv.weight"
        let perturbed = try PerturbedWeights(base: weights, name: name) { $0.enumerated().map { $0 == 2 ? $1 + 0.5 : $1 } }  // the tap on the newest frame
        let wrong = try WanVAE(weights: perturbed, backend: backend)
        let decodeError = try Self.error(try wrong.decode(latent), "decoded", backend)
        print("Wan VAE with one perturbed \(name) value: decode relative L2 \(decodeError)")
        #expect(decodeError > 1e-3)
    }

    /// Tiles at least as large as the frame decode exactly; smaller tiles blend within a stated bound
    /// (the fixture frame is 4×6 latent pixels, so every tile is mostly seam: measured 0.26).
    @Test func tiledDecodeStaysNearTheWholeFrame() throws {
        let backend = CPUBackend()
        let vae = try WanVAE(weights: try ModelFixtures.wanVAE(), backend: backend)
        let latent = try Self.normalisedDecodeInput(vae, backend)
        let whole = try backend.floats(try vae.decode(latent))
        let oneTile = try backend.floats(try vae.decode(latent, options: VAEDecodeOptions(tile: 48, tileOverlap: 16)))
        #expect(oneTile == whole)
        let tiled = try vae.decode(latent, options: VAEDecodeOptions(tile: 32, tileOverlap: 16))
        #expect(tiled.shape.dims == [1, 3, 9, 32, 48])
        let error = try ErrorMetric.compare(try backend.floats(tiled), whole, what: "tiled").relativeL2
        print("Wan VAE tiled decode (tile 32, overlap 16 px) vs whole frame: relative L2 \(error)")
        #expect(error > 0 && error <= 0.3)
        #expect(throws: TensorError.self) { try vae.decode(latent, options: VAEDecodeOptions(tile: 12, tileOverlap: 4)) }
    }

    /// Exact row bands (`rowBands`) decode a 24-row latent (192 pixel rows) as the whole frame does, to f32
    /// rounding, in 2, 3 and 24 bands, returned and streamed; a plan whose bands take one row less across
    /// their inner edges at the head (so its conv pads with zeros where the neighbours' rows belong) fails.
    @Test func rowBandsMatchTheWholeFrame() throws {
        let backend = CPUBackend()
        let vae = try WanVAE(weights: try ModelFixtures.wanVAE(), backend: backend)
        var noise = NormalNoise(seed: 17)
        let shape: Shape = [1, 16, 2, 24, 6]
        let latent = try backend.tensor(noise.values(shape.count), shape)
        let whole = try backend.floats(try vae.decode(latent))
        for bands in [2, 3, 24] {
            let banded = try vae.decode(latent, options: VAEDecodeOptions(rowBands: bands))
            #expect(banded.shape.dims == [1, 3, 5, 192, 48])
            let error = try ErrorMetric.compare(try backend.floats(banded), whole, what: "\(bands) bands").relativeL2
            #expect(error <= 1e-6, "\(bands) bands: \(error)")
        }
        var pieces: [Tensor] = []
        try vae.decode(latent, options: VAEDecodeOptions(rowBands: 3)) { pieces.append($0) }
        #expect(pieces.map { $0.shape.dims } == Array(repeating: [1, 3, 1, 192, 48], count: 5))
        #expect(try ErrorMetric.compare(try backend.floats(try backend.concat(pieces, axis: 2)), whole, what: "streamed").relativeL2 <= 1e-6)

        let plan = vae.bandPlan(latentHeight: 24, bands: 3)
        #expect(plan.map(\.output) == [0 ..< 64, 64 ..< 128, 128 ..< 192])
        let short = plan.map { band in
            let head = band.rows[band.rows.count - 1]
            let narrowed = max(head.lowerBound, band.output.lowerBound) ..< min(head.upperBound, band.output.upperBound)
            return WanDecoderBands.Band(output: band.output, rows: band.rows.dropLast() + [narrowed])
        }
        var wrong: [Tensor] = []
        try vae.decodeInBands(latent, plan: short, cache: WanVAECache()) { wrong.append($0) }
        let error = try ErrorMetric.compare(try backend.floats(try backend.concat(wrong, axis: 2)), whole, what: "short reach").relativeL2
        print("Wan VAE row bands: a band one row short at the head gives relative L2 \(error)")
        #expect(error > 1e-3, "a band one row short at the head gives \(error)")
        #expect(throws: TensorError.self) { try vae.decode(latent, options: VAEDecodeOptions(rowBands: 25)) }
    }

    @Test func badInputIsRefusedWithItsReason() throws {
        let backend = CPUBackend()
        let vae = try WanVAE(weights: try ModelFixtures.wanVAE(), backend: backend)
        func zeros(_ shape: [Int]) throws -> Tensor { try backend.tensor([Float](repeating: 0, count: shape.reduce(1, *)), Shape(shape)) }
        func message(_ body: () throws -> Tensor) -> String {
            do { _ = try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { try vae.encode(try zeros([1, 3, 8, 32, 48])) }.contains("4k+1"))
        #expect(message { try vae.encode(try zeros([1, 3, 5, 30, 48])) }.contains("multiples of 8"))
        #expect(message { try vae.encode(try zeros([1, 4, 5, 32, 48])) }.contains("[B, 3, F, H, W]"))
        #expect(message { try vae.decode(try zeros([1, 15, 2, 4, 6])) }.contains("[B, 16, F, H, W]"))
        #expect(message { try vae.decode(try zeros([1, 16, 2, 4, 6]), options: VAEDecodeOptions(timestep: 0.05)) }.contains("--timestep"))
        #expect(throws: TensorError.self) { try WanVAE(weights: try ModelFixtures.wan(precision: .f32), backend: backend) }
    }
}
