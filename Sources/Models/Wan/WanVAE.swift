import Foundation
import Tensors

/// The Wan2.1 VAE config, as `vacekit convert` writes it into the .vkq header (official field names).
public struct WanVAEConfig: Decodable, Sendable {
    public var baseDim: Int
    public var zDim: Int
    public var latentsMean: [Float]
    public var latentsStd: [Float]

    enum CodingKeys: String, CodingKey {
        case baseDim = "base_dim", zDim = "z_dim", latentsMean = "latents_mean", latentsStd = "latents_std"
    }
}

/// The Wan2.1 causal video VAE (Wan2.1 `wan/modules/vae.py`, `WanVAE_`), 4× in time and 8× in space:
///
///     video [B,3,1+4k,H,W] ─ conv1 ─ downsamples (res, res, ↓2d, res, res, ↓3d, res, res, ↓3d, res, res)
///       ─ middle (res, attn, res) ─ head (RMS, SiLU, conv → 2z) ─ conv1 (1×1×1) ─ μ ─ (μ − mean)/std ─▶ latent
///     latent [B,z,1+k,H/8,W/8] ─ ·std + mean ─ conv2 (1×1×1) ─ decoder.conv1 ─ middle
///       ─ upsamples (3 res, ↑3d, 3 res, ↑3d, 3 res, ↑2d, 3 res) ─ head (RMS, SiLU, conv → 3) ─ clamp ─▶ video
///
/// As the original, the encoder runs on chunks of frames — the first frame, then 4 at a time — and
/// the decoder one latent frame at a time, each temporal convolution carrying the last frames of
/// its input across chunks (`WanVAECache`): the result equals one whole-video pass, and memory is set
/// by the frame size, not by the video length.
public final class WanVAE: VideoAutoencoder {
    public let config: WanVAEConfig
    let backend: any Backend
    let encoderIn, encoderHead: WanCausalConv
    let encoderStages: [WanVAEStage]
    let encoderMiddle: WanVAEMiddle
    let encoderNorm: WanRMSNorm
    let quant, postQuant: WanCausalConv
    let decoderIn: WanCausalConv
    let decoderHead: WanCausalHead
    let decoderMiddle: WanVAEMiddle
    let decoderStages: [WanVAEStage]
    let decoderNorm: WanRMSNorm
    let mean, inverseStd, std: Tensor  // [1, z, 1, 1, 1]
    /// Called at each stage's output (`encoder.conv1`, `encoder.downsamples.{i}`, `encoder.middle`,
    /// `encoder.head`, `decoder.conv1`, `decoder.middle`, `decoder.upsamples.{i}`, `decoder.head`), once per
    /// chunk: a validation hook, free when nil.
    public var tap: Tap?

    public var latentChannels: Int { config.zDim }
    public var temporalFactor: Int { 4 }
    public var spatialFactor: Int { 8 }

    public init(weights: any WeightProvider, backend: any Backend) throws {
        guard weights.family == "wan2.1-vae" else {
            throw TensorError("WanVAE", "the file holds a \(weights.family) model, not the Wan2.1 VAE (family wan2.1-vae)")
        }
        config = try weights.config(WanVAEConfig.self)
        self.backend = backend
        let z = config.zDim
        guard config.latentsMean.count == z, config.latentsStd.count == z, config.latentsStd.allSatisfy({ $0 > 0 }) else {
            throw TensorError("WanVAE", "latents_mean / latents_std need \(z) values (std > 0)")
        }
        var slots = WanVAESlots()
        encoderIn = try WanCausalConv("encoder.conv1", weights, backend, slots: &slots)
        encoderStages = try Self.stages("encoder.downsamples", .down, weights, backend, &slots)
        encoderMiddle = try WanVAEMiddle("encoder", weights, backend, slots: &slots)
        encoderNorm = try WanRMSNorm("encoder.head.0.gamma", weights, backend)
        encoderHead = try WanCausalConv("encoder.head.2", weights, backend, slots: &slots)
        quant = try WanCausalConv("conv1", weights, backend, slots: &slots)
        postQuant = try WanCausalConv("conv2", weights, backend, slots: &slots)
        decoderIn = try WanCausalConv("decoder.conv1", weights, backend, slots: &slots)
        decoderMiddle = try WanVAEMiddle("decoder", weights, backend, slots: &slots)
        decoderStages = try Self.stages("decoder.upsamples", .up, weights, backend, &slots)
        decoderNorm = try WanRMSNorm("decoder.head.0.gamma", weights, backend)
        decoderHead = try WanCausalHead(try WanCausalConv("decoder.head.2", weights, backend, slots: &slots), on: backend)
        guard quant.outChannels == 2 * z, postQuant.inChannels == z else {
            throw TensorError("WanVAE", "conv1 gives \(quant.outChannels) channels and conv2 takes \(postQuant.inChannels); z_dim is \(z)")
        }
        let stats = [1, z, 1, 1, 1]
        mean = try backend.tensor(config.latentsMean, Shape(stats))
        std = try backend.tensor(config.latentsStd, Shape(stats))
        inverseStd = try backend.tensor(config.latentsStd.map { 1 / $0 }, Shape(stats))
        // What the backend copied (a GPU upload) no longer needs the file's pages; a backend that reads
        // weights in place from the map (the CPU's f16 conv kernels) faults back in only those it runs.
        weights.evict(prefix: "")
    }

    private static func stages(_ prefix: String, _ mode: WanResample.Mode, _ weights: any WeightProvider, _ backend: any Backend,
                               _ slots: inout WanVAESlots) throws -> [WanVAEStage] {
        var stages: [WanVAEStage] = []
        while weights.contains("\(prefix).\(stages.count).residual.2.weight") || weights.contains("\(prefix).\(stages.count).resample.1.weight") {
            stages.append(try WanVAEStage("\(prefix).\(stages.count)", mode, weights, backend, slots: &slots))
        }
        guard !stages.isEmpty else { throw TensorError("WanVAE", "no \(prefix).0 in the file") }
        return stages
    }

    /// The pixel frames the first chunk and each later chunk of the encoder take.
    static let encoderChunk = (first: 1, rest: 4)

    // MARK: encode

    /// video `[B, 3, 1+4k, H, W]` in [−1, 1] (H, W multiples of 8) → normalised posterior mean `[B, z, 1+k, H/8, W/8]`.
    public func encode(_ video: Tensor) throws -> Tensor {
        let s = video.shape
        guard s.rank == 5, s[1] == 3 else { throw TensorError("WanVAE.encode", "video \(s): expected [B, 3, F, H, W]") }
        guard s[2] % 4 == 1 else {
            throw TensorError("WanVAE.encode", "video has \(s[2]) frames: the Wan VAE takes 4k+1 (e.g. \(max(1, (s[2] - 1) / 4 * 4 + 1)))")
        }
        guard s[3] % 8 == 0, s[4] % 8 == 0, s[3] > 0, s[4] > 0 else {
            throw TensorError("WanVAE.encode", "video is \(s[4])×\(s[3]): width and height must be multiples of 8")
        }
        return try encode(video, chunks: Self.chunks(frames: s[2], first: Self.encoderChunk.first, rest: Self.encoderChunk.rest))
    }

    /// Encodes with the given chunking in time (frame ranges covering the video in order; the first
    /// chunk must be 1 frame or the whole video, later ones multiples of 4) — for tests of the cache.
    /// With `split`, the stages before the first temporal downsampling take a chunk one frame at a time
    /// (exact: their causal convs carry their caches, the rest is per frame), so the full-resolution
    /// activations held are one frame's, not four (at 480×832 a 96-channel frame is 153 MB).
    func encode(_ video: Tensor, chunks: [Range<Int>], cache: WanVAECache = WanVAECache(), split: Bool = true) throws -> Tensor {
        let b = backend
        let perFrame = split ? encoderStages.firstIndex(where: \.downsamplesInTime) ?? encoderStages.count : 0
        var latents: [Tensor] = []
        for chunk in chunks {
            let pieces = try (split ? chunk.map { $0 ..< $0 + 1 } : [chunk]).map { frames in
                var y = try encoderIn(try b.slice(video, axis: 2, frames), cache, on: b)
                try tap?("encoder.conv1", y)
                for i in 0 ..< perFrame {
                    y = try encoderStages[i](y, cache, on: b)
                    try tap?("encoder.downsamples.\(i)", y)
                }
                return y
            }
            var x = pieces.count == 1 ? pieces[0] : try b.concat(pieces, axis: 2)
            for i in perFrame ..< encoderStages.count {
                x = try encoderStages[i](x, cache, on: b)
                try tap?("encoder.downsamples.\(i)", x)
            }
            x = try encoderMiddle(x, cache, on: b)
            try tap?("encoder.middle", x)
            x = try encoderHead(try b.unary(.silu, try encoderNorm(x, on: b)), cache, on: b)
            try tap?("encoder.head", x)
            let moments = try quant(x, cache, on: b)  // [B, 2z, t, h, w]: μ, log σ²
            latents.append(try b.slice(moments, axis: 1, 0 ..< config.zDim))
        }
        let mu = latents.count == 1 ? latents[0] : try b.concat(latents, axis: 2)
        return try b.binary(.mul, try b.binary(.sub, mu, mean), inverseStd)
    }

    // MARK: decode

    /// latent `[B, z, F', H', W']` (normalised) → video `[B, 3, 1+4(F'−1), 8H', 8W']` clamped to [−1, 1].
    public func decode(_ latent: Tensor, options: VAEDecodeOptions) throws -> Tensor {
        try options.requireUnconditioned("the Wan2.1 VAE")
        try checkLatent(latent, bands: options.rowBands)
        let s = latent.shape
        if options.rowBands > 1 {
            guard options.tile == nil else { throw TensorError("WanVAE.decode", "--vae-bands and --vae-tile: give one of them") }
            var frames: [Tensor] = []
            try decodeInBands(latent, bands: options.rowBands, cache: WanVAECache()) { frames.append($0) }
            return frames.count == 1 ? frames[0] : try backend.concat(frames, axis: 2)
        }
        if let tile = options.tile {
            return try SpatialTiling(tile: tile, overlap: options.tileOverlap, factor: spatialFactor).decode(latent, on: backend) {
                try self.decode($0, chunks: Self.chunks(frames: $0.shape[2], first: 1, rest: 1))
            }
        }
        return try decode(latent, chunks: Self.chunks(frames: s[2], first: 1, rest: 1))
    }

    /// Streams the decoded frames (1, then 4 per latent frame) to `frames`; untiled only.
    public func decode(_ latent: Tensor, options: VAEDecodeOptions, frames: (Tensor) throws -> Void) throws {
        guard options.tile == nil else { return try frames(try decode(latent, options: options)) }
        try options.requireUnconditioned("the Wan2.1 VAE")
        try checkLatent(latent, bands: options.rowBands)
        if options.rowBands > 1 { return try decodeInBands(latent, bands: options.rowBands, cache: WanVAECache(), frames: frames) }
        try decode(latent, chunks: Self.chunks(frames: latent.shape[2], first: 1, rest: 1), cache: WanVAECache(), frames: frames)
    }

    private func checkLatent(_ latent: Tensor, bands: Int = 1) throws {
        let s = latent.shape
        guard s.rank == 5, s[1] == config.zDim, s[2] > 0, s[3] > 0, s[4] > 0 else {
            throw TensorError("WanVAE.decode", "latent \(s): expected [B, \(config.zDim), F, H, W]")
        }
        // A band of at least 8 output rows (one latent row).
        guard bands >= 1, bands <= s[3] else {
            throw TensorError("WanVAE.decode", "--vae-bands \(bands): 1 to \(s[3]) for a latent \(s[3]) rows high (\(s[3] * 8) pixels)")
        }
    }

    /// Decodes with the given chunking of latent frames — for tests of the cache.
    func decode(_ latent: Tensor, chunks: [Range<Int>], cache: WanVAECache = WanVAECache(), split: Bool = true) throws -> Tensor {
        var frames: [Tensor] = []
        try decode(latent, chunks: chunks, cache: cache, split: split) { frames.append($0) }
        return frames.count == 1 ? frames[0] : try backend.concat(frames, axis: 2)
    }

    private func decode(_ latent: Tensor, chunks: [Range<Int>], cache: WanVAECache, split: Bool = true, frames: (Tensor) throws -> Void) throws {
        let b = backend
        let z = try postQuant(try b.binary(.add, try b.binary(.mul, latent, std), mean), cache, on: b)
        for chunk in chunks {
            var x = try decoderIn(try b.slice(z, axis: 2, chunk), cache, on: b)
            try tap?("decoder.conv1", x)
            x = try decoderMiddle(x, cache, on: b)
            try tap?("decoder.middle", x)
            try decodeStages(x, from: 0, cache, split: split, frames: frames)
        }
    }

    /// `decoder.upsamples[i...]` and the head. Each temporal upsampling doubles the frames of a chunk;
    /// every later stage is exact on any split in time (causal convs carry their cache, the rest is
    /// per frame), so with `split` the frames go on one at a time: the activations held are those of
    /// one frame at each resolution, not of four. With a `band`, x's row 0 is frame row `firstRow` and
    /// each stage takes the band's rows for it (`WanDecoderBands`); the stage taps fire for whole frames only.
    func decodeStages(_ input: Tensor, from first: Int, firstRow: Int = 0, band: WanDecoderBands.Band? = nil, _ cache: WanVAECache,
                      split: Bool, frames: (Tensor) throws -> Void) throws {
        let b = backend
        var x = input, row = firstRow
        for i in first ..< decoderStages.count {
            if let band { (x, row) = (try Self.crop(x, from: row, to: band.rows[i], on: b), band.rows[i].lowerBound) }
            if split && x.shape[2] > 1 {
                for frame in 0 ..< x.shape[2] {
                    try decodeStages(try b.slice(x, axis: 2, frame ..< frame + 1), from: i, firstRow: row, band: band, cache,
                                     split: split, frames: frames)
                }
                return
            }
            x = try decoderStages[i](x, cache, on: b)
            if decoderStages[i].upsamplesInSpace { row *= 2 }
            if band == nil { try tap?("decoder.upsamples.\(i)", x) }
        }
        if let band { x = try Self.crop(x, from: row, to: band.rows[decoderStages.count], on: b) }
        x = try decoderHead(try b.unary(.silu, try decoderNorm(x, on: b)), cache, on: b)
        if let band { x = try Self.crop(x, from: band.rows[decoderStages.count].lowerBound, to: band.output, on: b) }
        if band == nil { try tap?("decoder.head", x) }
        try frames(try b.unary(.clamp(-1, 1), x))
    }

    /// `[0, first), then steps of `rest` up to `frames`.
    static func chunks(frames: Int, first: Int, rest: Int) -> [Range<Int>] {
        var out = [0 ..< min(first, frames)]
        var start = out[0].upperBound
        while start < frames {
            out.append(start ..< min(start + rest, frames))
            start += rest
        }
        return out
    }
}
