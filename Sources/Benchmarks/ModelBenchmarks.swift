import Foundation
import Models
import Tensors
import TextTokenizers
import VKQ
import VulkanBackend

/// One timed model call (`vacekit bench wan|ltx|t5|ltx-vae`): load time, the best timed run, memory.
public struct ModelTiming {
    public var loadSeconds: Double
    /// The timed runs (one, the first call, when runs is 0).
    public var times: [Double]
    public var seconds: Double { times.min() ?? 0 }
    public var peakRSS: Int
    /// Vulkan: the device memory the backend holds at the end (0 elsewhere).
    public var deviceMemory: Int
}

/// The model forwards of `vacekit bench` on seeded random inputs: the harness; the CLI parses flags and prints.
public enum ModelBenchmarks {
    static func finish(_ load: Double, _ times: [Double], _ backend: any Backend) -> ModelTiming {
        ModelTiming(loadSeconds: load, times: times, peakRSS: peakRSS(), deviceMemory: (backend as? VulkanBackend)?.deviceMemoryBytes ?? 0)
    }

    /// One Wan2.1(-VACE) transformer forward: latent [1, in, F, H, W], `textTokens` text rows, t = 500.
    public static func wan(_ weights: VKQWeights, backend: any Backend, residency: WeightResidency, latent: [Int], textTokens: Int,
                           runs: Int) throws -> ModelTiming {
        var transformer: WanTransformer!
        let load = try Timing.seconds { transformer = try WanTransformer(weights: weights, backend: backend, residency: residency) }
        let c = transformer.config
        var noise = NormalNoise(seed: 42)
        let videoShape = Shape([1, c.inDim, latent[0], latent[1], latent[2]])
        let latents = try backend.tensor(noise.values(videoShape.count), videoShape)
        let text = try backend.tensor(noise.values(textTokens * c.textDim).map { $0 * 0.1 }, [1, textTokens, c.textDim])
        let vaceShape = Shape([1, c.vaceInDim ?? 96, latent[0], latent[1], latent[2]])
        let vace = c.isVACE ? try backend.tensor(noise.values(vaceShape.count), vaceShape) : nil
        let times = try Timing.runs(runs) {
            _ = try backend.floats(try transformer(latents: latents, timesteps: [500], text: text, vaceContext: vace))
        }
        return finish(load, times, backend)
    }

    /// One LTX-Video / VACE-LTX transformer forward: latent [1, 128, F, H, W], `textTokens` real caption tokens.
    /// Also returns the number of context blocks.
    public static func ltx(_ weights: VKQWeights, backend: any Backend, residency: WeightResidency, latent: [Int], textTokens: Int,
                           runs: Int) throws -> (ModelTiming, contextBlocks: Int) {
        var transformer: LTXTransformer!
        let load = try Timing.seconds { transformer = try LTXTransformer(weights: weights, backend: backend, residency: residency) }
        let c = transformer.config
        var noise = NormalNoise(seed: 42)
        let videoShape = Shape([1, c.inChannels, latent[0], latent[1], latent[2]])
        let latents = try backend.tensor(noise.values(videoShape.count), videoShape)
        let text = try backend.tensor(noise.values(textTokens * c.captionChannels).map { $0 * 0.1 }, [1, textTokens, c.captionChannels])
        let mask = try backend.tensor(.init(repeating: 1, count: textTokens), [1, textTokens])
        let vaceShape = Shape([1, c.vaceChannels, latent[0], latent[1], latent[2]])
        let vace = c.isVACE ? try backend.tensor(noise.values(vaceShape.count), vaceShape) : nil
        let times = try Timing.runs(runs) {
            _ = try backend.floats(try transformer(latents: latents, timesteps: [500], context: text, contextMask: mask, vaceContext: vace))
        }
        return (finish(load, times, backend), c.contextLayers.count)
    }

    /// One T5 / umT5 encoder call on `tokens` random ids inside the tokenizer's range. Also returns the layer count.
    public static func t5(_ weights: VKQWeights, backend: any Backend, residency: WeightResidency, tokens: Int, runs: Int) throws -> (ModelTiming, layers: Int) {
        var encoder: T5Encoder!
        let load = try Timing.seconds { encoder = try T5Encoder(weights: weights, backend: backend, residency: residency) }
        // Ids inside the tokenizer's range (the embedding may have more rows).
        let pieces = (try? T5Tokenizer(weights: weights).pieces.pieceCount) ?? encoder.config.vocab
        var generator = SplitMix64(seed: 42)
        let ids = (0 ..< tokens).map { _ in Int32(4 + Int(generator.next() % UInt64(max(pieces - 4, 1)))) }
        let mask = [Float](repeating: 1, count: tokens)
        let times = try Timing.runs(runs) { _ = try backend.floats(try encoder(ids: ids, mask: mask)) }
        return (finish(load, times, backend), encoder.config.numLayers)
    }

    /// One LTX-Video VAE decode of a random latent [1, C, F, H, W], `chunk` latent frames at a time (nil:
    /// all). Also returns the video's shape.
    public static func ltxVAEDecode(_ weights: VKQWeights, backend: any Backend, latent: [Int], chunk: Int?, runs: Int) throws -> (ModelTiming, output: [Int]) {
        let vae = try LTXVAE(weights: weights, backend: backend)
        vae.decodeChunkFrames = chunk
        var noise = NormalNoise(seed: 42)
        let shape = Shape([1, vae.latentChannels, latent[0], latent[1], latent[2]])
        let z = try backend.tensor(noise.values(shape.count), shape)
        var output: [Int] = []
        let times = try Timing.runs(runs) {
            let out = try vae.decode(z)
            output = out.shape.dims
            _ = try backend.floats(out)
        }
        return (finish(0, times, backend), output)
    }
}

/// `vacekit bench vae`: a decode (frames streamed out and dropped as a writer would) and optionally an encode
/// at a video size, and the decoder's 3×3×3 convolutions at 480×832 chunk shapes.
public enum VAEBenchmark {
    public struct Result {
        public var loadSeconds, decodeSeconds: Double
        public var encodeSeconds: Double?
        public var decodedFrames, decodePeakRSS, peakRSS, deviceMemory: Int
    }

    /// `check` is given the VAE's temporal and spatial factors before anything runs (the caller refuses a size).
    public static func run(_ weights: VKQWeights, backend: any Backend, frames: Int, width: Int, height: Int, tile: Int?, bands: Int = 1, encode: Bool,
                           check: (_ temporal: Int, _ spatial: Int) throws -> Void) throws -> Result {
        var vae: (any VideoAutoencoder)!
        let load = try Timing.seconds { vae = try VideoAutoencoders.load(weights, on: backend) }
        let (t, s) = (vae.temporalFactor, vae.spatialFactor)
        try check(t, s)
        var noise = NormalNoise(seed: 11)
        let latentShape: Shape = [1, vae.latentChannels, (frames - 1) / t + 1, height / s, width / s]
        let latent = try backend.tensor(noise.values(latentShape.count), latentShape)
        var decodedFrames = 0
        let decodeSeconds = try Timing.seconds {
            try vae.decode(latent, options: VAEDecodeOptions(tile: tile, rowBands: bands)) { chunk in
                _ = try backend.floats(chunk)  // what a writer does with each chunk
                decodedFrames += chunk.shape[2]
            }
        }
        let decodePeak = peakRSS()
        var encodeSeconds: Double?
        if encode {
            let video = try backend.tensor(noise.values(3 * frames * height * width).map { max(-1, min(1, $0 * 0.5)) }, [1, 3, frames, height, width])
            encodeSeconds = try Timing.seconds { _ = try backend.floats(try vae.encode(video)) }
        }
        return Result(loadSeconds: load, decodeSeconds: decodeSeconds, encodeSeconds: encodeSeconds, decodedFrames: decodedFrames,
                      decodePeakRSS: decodePeak, peakRSS: peakRSS(), deviceMemory: (backend as? VulkanBackend)?.deviceMemoryBytes ?? 0)
    }

    /// The decoder convolutions (input with its 2 cached frames): best of 5 after a warm-up.
    public static func conv(backend: any Backend) throws -> [(channels: Int, frames: Int, height: Int, width: Int, seconds: Double, gflop: Double)] {
        var noise = NormalNoise(seed: 7)
        var rows: [(channels: Int, frames: Int, height: Int, width: Int, seconds: Double, gflop: Double)] = []
        for (c, t, h, w) in BenchmarkShapes.vaeConv {
            let x = try backend.tensor(noise.values(c * (t + 2) * h * w), [1, c, t + 2, h, w])
            let weight = try backend.tensor(noise.values(c * c * 27).map { $0 * 0.02 }, [c, c, 3, 3, 3])
            let options = Conv3DOptions(padding: (1, 1))
            // Reading back one output channel waits for the device and costs a fraction of copying
            // the whole output (which PyTorch's side does not do either).
            let run = { _ = try backend.floats(try backend.slice(try backend.conv3d(x, weight, bias: nil, options), axis: 1, 0 ..< 1)) }
            let best = try Timing.best(runs: 5, warmUp: run) { try Timing.seconds(run) }
            rows.append((c, t, h, w, best, 2.0 * Double(c * c * 27 * t * h * w) / 1e9))
        }
        return rows
    }
}
