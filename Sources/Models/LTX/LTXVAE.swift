import Foundation
import Tensors

/// The LTX-Video causal video VAE, 0.9 / 0.9.1 / 0.9.5 (LTX-Video ltx_video/models/autoencoders/
/// causal_video_autoencoder.py; diffusers `AutoencoderKLLTXVideo`):
///
///     video [B,3,F,H,W] ─ patchify 4×4 ─ conv_in ─ down_blocks… ─ PixelNorm ─ SiLU ─ conv_out ─ mean ─ (z − μ_c)/σ_c
///     latent ─ ·σ_c + μ_c ─ conv_in ─ up_blocks… ─ PixelNorm ─ [shift/scale(t)] ─ SiLU ─ conv_out ─ unpatchify ─▶ video
///
/// Both directions run streamed in time (`StreamState`): the encoder takes the first frame, then
/// `encodeChunkFrames` frames at a time; the decoder `decodeChunkFrames` latent frames at a time. The
/// result is the whole-video result, and the memory is set by the chunk.
public final class LTXVAE: VideoAutoencoder {
    public let config: LTXVAEConfig
    public let residency: WeightResidency
    /// Called with each stage's output (per chunk of frames): `encoder.conv_in`, `encoder.down_blocks.{i}`,
    /// `encoder.conv_out`, `decoder.conv_in`, `decoder.up_blocks.{i}`, `decoder.conv_out`.
    public var tap: Tap?
    /// Pixel frames per encoder chunk after the first frame (a multiple of 8); nil: the whole video at once.
    public var encodeChunkFrames: Int? = 8
    /// Latent frames per decoder chunk; nil: the whole latent at once.
    public var decodeChunkFrames: Int? = 1

    let backend: any Backend
    let encoderIn, encoderOut, decoderIn, decoderOut: LTXConv
    let encoderStages, decoderStages: [BlockWeights<LTXStage>]
    let encoderNames, decoderNames: [String]
    /// Spatial upsampling before each decoder stage (for the noise maps' sizes).
    let decoderScale: [Int]
    let latentMean, latentStd: Tensor
    let timestepMultiplier: Float?
    let lastEmbedder: LTXTimeEmbedder?
    let lastTable: Tensor?
    /// `decoder_noise.<path>` names the decoder takes, with the stage they belong to.
    let noiseBlocks: [(name: String, stage: Int)]

    public var latentChannels: Int { config.latentChannels }
    public var temporalFactor: Int { 8 }
    public var spatialFactor: Int { 32 }

    public init(weights: any WeightProvider, backend: any Backend, residency: WeightResidency = .resident) throws {
        config = try weights.config(LTXVAEConfig.self)
        self.backend = backend
        self.residency = residency
        let c = config, b = backend
        func load(_ name: String) throws -> Tensor { try weights.load(name, on: b) }
        encoderIn = try LTXConv("encoder.conv_in.conv", weights, b, causal: true)
        encoderOut = try LTXConv("encoder.conv_out.conv", weights, b, causal: true)
        decoderIn = try LTXConv("decoder.conv_in.conv", weights, b, causal: c.causalDecoder)
        decoderOut = try LTXConv("decoder.conv_out.conv", weights, b, causal: c.causalDecoder)
        guard encoderIn.inChannels == c.inChannels * c.patchSize * c.patchSize, decoderIn.inChannels == c.latentChannels else {
            throw TensorError("LTXVAE", "conv_in weights \(encoderIn.weight.shape) / \(decoderIn.weight.shape) do not fit the config")
        }
        var encoder: [BlockWeights<LTXStage>] = [], encoderNames: [String] = []
        for (i, block) in c.encoderBlocks.enumerated() {
            let name = "encoder.down_blocks.\(i)"
            encoderNames.append(name)
            encoder.append(try BlockWeights(residency, from: weights, prefixes: [name + "."]) {
                try LTXStage.encoder(block, name, weights, b)
            })
        }
        var decoder: [BlockWeights<LTXStage>] = [], decoderNames: [String] = [], scale: [Int] = [], noise: [(String, Int)] = []
        var factor = 1
        for (i, block) in c.decoderBlocks.reversed().enumerated() {
            let name = "decoder.up_blocks.\(i)"
            decoderNames.append(name)
            scale.append(factor)
            if block.name == "compress_all" || block.name == "compress_space" { factor *= 2 }
            decoder.append(try BlockWeights(residency, from: weights, prefixes: [name + "."]) {
                try LTXStage.decoder(block, name, weights, b, causal: c.causalDecoder, timestep: c.timestepConditioning)
            })
            if block.name == "res_x" || block.name == "res_x_y" {
                let blocks = block.name == "res_x" ? (0 ..< block.numLayers).map { "\(name).res_blocks.\($0)" } : [name]
                for blockName in blocks where weights.contains(blockName + ".per_channel_scale1") {
                    noise += [(blockName + ".per_channel_scale1", i), (blockName + ".per_channel_scale2", i)]
                }
            }
        }
        (encoderStages, decoderStages, self.encoderNames, self.decoderNames) = (encoder, decoder, encoderNames, decoderNames)
        decoderScale = scale
        noiseBlocks = noise
        latentMean = try b.reshape(try load("per_channel_statistics.mean-of-means"), [1, c.latentChannels, 1, 1, 1])
        latentStd = try b.reshape(try load("per_channel_statistics.std-of-means"), [1, c.latentChannels, 1, 1, 1])
        if c.timestepConditioning {
            // The learned multiplier (≈1000, not 1000 in a trained file), kept in f32 (ltx-vace §10.8).
            let data = try weights.weightData("decoder.timestep_scale_multiplier")
            guard data.dtype == .f32, data.shape.count == 1 else {
                throw TensorError("LTXVAE", "decoder.timestep_scale_multiplier: expected one f32 value, got \(data.dtype) \(data.shape)")
            }
            timestepMultiplier = data.data.load(as: Float.self)
            lastEmbedder = try LTXTimeEmbedder("decoder.last_time_embedder", weights, b)
            lastTable = try load("decoder.last_scale_shift_table")
        } else {
            (timestepMultiplier, lastEmbedder, lastTable) = (nil, nil, nil)
        }
    }

    // MARK: encode

    public func encode(_ video: Tensor) throws -> Tensor {
        let b = backend, c = config
        let s = video.shape
        guard s.rank == 5, s[1] == c.inChannels else { throw TensorError("LTXVAE.encode", "video \(s): expected [B, \(c.inChannels), F, H, W]") }
        guard (s[2] - 1) % 8 == 0 else { throw TensorError("LTXVAE.encode", "video has \(s[2]) frames: LTX-Video takes 8k+1 (1, 9, 17, …)") }
        guard s[3] % 32 == 0, s[4] % 32 == 0, s[3] > 0, s[4] > 0 else {
            throw TensorError("LTXVAE.encode", "video is \(s[3])×\(s[4]): height and width must be multiples of 32")
        }
        if let chunk = encodeChunkFrames, chunk <= 0 || chunk % 8 != 0 {
            throw TensorError("LTXVAE.encode", "chunk of \(chunk) frames: must be a positive multiple of 8")
        }
        let run = LTXVAERun(backend: b, batch: s[0], tap: tap)
        var starts = [0]
        if let chunk = encodeChunkFrames {
            var next = 1
            while next < s[2] { starts.append(next); next += chunk }
        }
        var out: [Tensor] = []
        for (k, start) in starts.enumerated() {
            let end = k + 1 < starts.count ? starts[k + 1] : s[2]
            let chunk = try Frames.take(video, start ..< end, on: b)!
            if let z = try encodeChunk(chunk, last: k + 1 == starts.count, run) { out.append(z) }
        }
        let moments = out.count == 1 ? out[0] : try b.concat(out, axis: 2)                       // [B, C + logvar, F', H', W']
        let mean = try b.slice(moments, axis: 1, 0 ..< c.latentChannels)
        return try b.binary(.div, try b.binary(.sub, mean, latentMean), latentStd)
    }

    private func encodeChunk(_ x: Tensor, last: Bool, _ run: LTXVAERun) throws -> Tensor? {
        let b = backend, p = config.patchSize
        let (n, ch, t, hh, ww) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3] / p, x.shape[4] / p)
        // 4×4 space-to-depth, channel c·16 + pw·4 + ph (LTX-Video `patchify`: "(c p r q)", r = column offset).
        let split = try b.reshape(x, [n, ch, t, hh, p, ww, p])                                          // B C T h ph w pw
        var h: Tensor? = try b.reshape(try b.permute(split, [0, 1, 6, 4, 2, 3, 5]), [n, ch * p * p, t, hh, ww])
        h = try encoderIn(h, last: last, run.state, on: b)
        try observe("encoder.conv_in", h, run)
        for (stage, name) in zip(encoderStages, encoderNames) {
            h = try stage.use { try $0(h, last: last, run) }
            try observe(name, h, run)
        }
        h = try h.map { try b.unary(.silu, try b.channelNorm(.pixel, $0, weight: nil, bias: nil, eps: 1e-8)) }
        h = try encoderOut(h, last: last, run.state, on: b)
        try observe("encoder.conv_out", h, run)
        return h
    }

    // MARK: decode

    public func decode(_ latent: Tensor, options: VAEDecodeOptions) throws -> Tensor {
        let b = backend, c = config
        let s = latent.shape
        guard s.rank == 5, s[1] == c.latentChannels, s[2] > 0, s[3] > 0, s[4] > 0 else {
            throw TensorError("LTXVAE.decode", "latent \(s): expected [B, \(c.latentChannels), F, H, W]")
        }
        guard options.rowBands == 1 else {
            throw TensorError("LTXVAE.decode", "--vae-bands \(options.rowBands): row bands are the Wan2.1 VAE's (LTX-Video: --vae-tile)")
        }
        if let tile = options.tile {
            guard tile > 0, tile % 32 == 0, options.tileOverlap >= 0, options.tileOverlap % 32 == 0, options.tileOverlap < tile else {
                throw TensorError("LTXVAE.decode", "--vae-tile \(tile) / --vae-tile-overlap \(options.tileOverlap): both multiples of 32 pixels, the overlap smaller than the tile")
            }
        }
        if let chunk = decodeChunkFrames, chunk <= 0 { throw TensorError("LTXVAE.decode", "chunk of \(chunk) latent frames") }
        var z = latent
        var scaled: Float?
        var maps: [String: Tensor] = [:]
        if c.timestepConditioning {
            // LTX-Video pipeline_ltx_video.py (0.9.1): decode_noise_scale defaults to decode_timestep; the
            // inference script's defaults are 0.05 and 0.025. The noise is mixed into the normalised latent,
            // before `un_normalize_latents`.
            let t = options.timestep ?? 0.05
            let mix = options.noiseScale ?? options.timestep ?? 0.025
            scaled = t * timestepMultiplier!
            maps = try noiseMaps(options, height: s[3], width: s[4])
            if mix != 0 {
                let noise = try options.noise["decode_noise"] ?? b.tensor(Self.draw(options.seed, "decode_noise", s.count), s)
                guard noise.shape == s else { throw TensorError("LTXVAE.decode", "decode_noise \(noise.shape): expected the latent's shape \(s)") }
                z = try b.binary(.add, try b.unary(.scale(1 - mix), z), try b.unary(.scale(mix), noise))
            }
        } else {
            try options.requireUnconditioned("LTXVAE (\(c.version) decoder)")
            if let name = options.noise.keys.sorted().first {
                throw TensorError("LTXVAE.decode", "noise map \(name): the \(c.version) decoder takes no noise (not timestep-conditioned)")
            }
        }
        z = try b.binary(.add, try b.binary(.mul, z, latentStd), latentMean)
        guard let tile = options.tile else { return try decodeRegion(z, scaledTimestep: scaled, noise: maps) }
        return try decodeTiled(z, scaledTimestep: scaled, noise: maps, tile: tile / 32, overlap: options.tileOverlap / 32)
    }

    /// Frames a chunked decode hands from one stage to the next at a time (see `descend`).
    static let pieceFrames = 4

    /// The decoder on a (raw) latent, in chunks of `decodeChunkFrames` latent frames.
    func decodeRegion(_ z: Tensor, scaledTimestep: Float?, noise: [String: Tensor]) throws -> Tensor {
        let b = backend, frames = z.shape[2]
        let run = LTXVAERun(backend: b, batch: z.shape[0], scaledTimestep: scaledTimestep, noise: noise, tap: tap)
        var out: [Tensor] = []
        var start = 0
        while start < frames {
            let end = min(start + (decodeChunkFrames ?? frames), frames)
            let last = end == frames
            let h = try decoderIn(try Frames.take(z, start ..< end, on: b)!, last: last, run.state, on: b)
            try observe("decoder.conv_in", h, run)
            try descend(h, stage: 0, last: last, run, into: &out)
            start = end
        }
        return out.count == 1 ? out[0] : try b.concat(out, axis: 2)
    }

    /// Stage `index` and every later one on `x`, depth first: a chunked decode hands a stage's output on in
    /// pieces of at most `pieceFrames` frames, each through all later stages before the next. The decoder's
    /// convolutions are not causal: each holds back a frame until it has seen the next, so until the last
    /// chunk the stages lag the input by about one latent frame per convolution (≈ 15 for the 0.9 decoder)
    /// and the last chunk releases that backlog at once. Passed on whole, it would cross the full-resolution
    /// stages as one tensor of most of the video (6.8 GB peak for 97 frames at 512×768, growing with the
    /// length); in pieces, the peak is set by the piece and the stages' own look-ahead. Every stage streams,
    /// so any split of its input gives the same frames.
    private func descend(_ x: Tensor?, stage index: Int, last: Bool, _ run: LTXVAERun, into out: inout [Tensor]) throws {
        guard index < decoderStages.count else {
            if let v = try decodeHead(x, last: last, run) { out.append(v) }
            return
        }
        let h = try decoderStages[index].use { try $0(x, last: last, run) }
        try observe(decoderNames[index], h, run)
        let size = decodeChunkFrames == nil ? Int.max : Self.pieceFrames
        guard let h, Frames.count(h) > size else { return try descend(h, stage: index + 1, last: last, run, into: &out) }
        let starts = Array(stride(from: 0, to: Frames.count(h), by: size))
        for (k, start) in starts.enumerated() {
            let piece = try Frames.take(h, start ..< min(start + size, Frames.count(h)), on: backend)
            try descend(piece, stage: index + 1, last: last && k + 1 == starts.count, run, into: &out)
        }
    }

    /// The decoder's norm, its timestep modulation (0.9.1+), SiLU, conv_out and the 4×4 unpatchify.
    private func decodeHead(_ x: Tensor?, last: Bool, _ run: LTXVAERun) throws -> Tensor? {
        let b = backend
        var h = x
        let ada = try lastEmbedder.map { embedder in
            try run.cached("decoder.last") {
                let table = lastTable!, width = table.shape[1]
                let e = try b.reshape(try embedder(run.scaledTimestep!, batch: run.batch, on: b), [run.batch, 2, width])
                let rows = try b.binary(.add, e, table)                                                // [B, 2, C]: shift, scale
                return try (0 ..< 2).map { try b.reshape(try b.slice(rows, axis: 1, $0 ..< $0 + 1), [run.batch, width, 1, 1, 1]) }
            }
        }
        h = try h.map { h in
            var h = try b.channelNorm(.pixel, h, weight: nil, bias: nil, eps: 1e-8)
            if let ada { h = try b.modulate(h, scale: ada[1], shift: ada[0]) }
            return try b.unary(.silu, h)
        }
        h = try decoderOut(h, last: last, run.state, on: b)
        try observe("decoder.conv_out", h, run)
        return try h.map { try unpatchify($0) }
    }

    /// `[B, 3·16, T, h, w]` → `[B, 3, T, 4h, 4w]`, the inverse of the encoder's order (c, pw, ph).
    private func unpatchify(_ x: Tensor) throws -> Tensor {
        let b = backend, p = config.patchSize
        let (n, c, t, h, w) = (x.shape[0], x.shape[1] / (p * p), x.shape[2], x.shape[3], x.shape[4])
        let split = try b.reshape(x, [n, c, p, p, t, h, w])                                             // B C pw ph T h w
        return try b.reshape(try b.permute(split, [0, 1, 4, 5, 3, 6, 2]), [n, c, t, h * p, w * p])
    }

    private func observe(_ point: String, _ x: Tensor?, _ run: LTXVAERun) throws {
        if let tap = run.tap, let x { try tap(point, x) }
    }

    // MARK: noise

    /// The decoder's noise maps, `[1, 1, 1, H, W]` by per_channel_scale name: the caller's
    /// (`decoder_noise.<path>`, path with or without the `decoder.` prefix) or drawn from the seed.
    private func noiseMaps(_ options: VAEDecodeOptions, height: Int, width: Int) throws -> [String: Tensor] {
        let b = backend
        var given: [String: Tensor] = [:]
        let known = Set(noiseBlocks.map(\.name))
        for (key, value) in options.noise where key != "decode_noise" {
            let path = key.hasPrefix("decoder_noise.") ? String(key.dropFirst("decoder_noise.".count)) : key
            let name = path.hasPrefix("decoder.") ? path : "decoder." + path
            guard key.hasPrefix("decoder_noise."), known.contains(name) else {
                let examples = noiseBlocks.prefix(2).map { "decoder_noise." + $0.name.dropFirst("decoder.".count) }
                throw TensorError("LTXVAE.decode", "unknown noise map \(key): this decoder takes decode_noise and \(noiseBlocks.count) maps decoder_noise.<per_channel_scale path> (e.g. \(examples.joined(separator: ", ")))")
            }
            given[name] = value
        }
        var maps: [String: Tensor] = [:]
        for (name, stage) in noiseBlocks {
            let size = [height * decoderScale[stage], width * decoderScale[stage]]
            if let map = given[name] {
                guard map.shape.dims == size else {
                    throw TensorError("LTXVAE.decode", "noise map decoder_noise.\(name.dropFirst("decoder.".count)) \(map.shape): expected [\(size[0]), \(size[1])]")
                }
                maps[name] = try b.reshape(map, [1, 1, 1, size[0], size[1]])
            } else {
                maps[name] = try b.tensor(Self.draw(options.seed, name, size[0] * size[1]), [1, 1, 1, size[0], size[1]])
            }
        }
        return maps
    }

    /// Standard normals for `name`, independent of which other maps the caller gave.
    static func draw(_ seed: UInt64, _ name: String, _ count: Int) -> [Float] {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325                                                       // FNV-1a
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        var noise = NormalNoise(seed: seed ^ hash)
        return noise.values(count)
    }
}
