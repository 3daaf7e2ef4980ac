import Foundation
import Models
import Tensors

/// Sampling settings of an LTX-Video / VACE-LTX run. The defaults are the reference pipelines'
/// (LTX-Video 0.9.1 `inference.py`, VACE `vace_ltx_inference.py`): 40 steps, guidance 3, STG `stg_a` on
/// layer 19 with scale 1 and rescale 0.7, decode timestep 0.05 and noise scale 0.025, 25 fps.
public struct LTXGenerationSettings: Sendable {
    public var steps: Int
    /// Classifier-free guidance scale; CFG runs when it is > 1 (as the original: `guidance_scale > 1.0`).
    public var guidance: Float
    /// Spatio-temporal guidance scale; 0 turns STG off.
    public var stgScale: Float
    public var stgLayers: [Int]
    /// 1 turns the rescale off (`do_rescaling = stg_rescale != 1`); it applies only with STG.
    public var stgRescale: Float
    public var seed: UInt64
    public var contextScale: Float
    /// The RoPE frame rate (T2V: the integer rate; a VACE source clip: the rate derived from the clip).
    public var frameRate: Double
    public var decodeTimestep: Float
    public var decodeNoiseScale: Float
    /// Run the guidance rows (uncond, cond, perturbed) as one batch: one weight pass per step.
    public var batchRows: Bool
    /// Decode in spatial tiles of this many pixels (nil: whole frames).
    public var decodeTile: Int?

    public init(steps: Int = 40, guidance: Float = 3, stgScale: Float = 1, stgLayers: [Int] = [19], stgRescale: Float = 0.7,
                seed: UInt64 = 2025, contextScale: Float = 1, frameRate: Double = 25, decodeTimestep: Float = 0.05,
                decodeNoiseScale: Float = 0.025, batchRows: Bool = true) {
        (self.steps, self.guidance, self.stgScale, self.stgLayers, self.stgRescale) = (steps, guidance, stgScale, stgLayers, stgRescale)
        (self.seed, self.contextScale, self.frameRate) = (seed, contextScale, frameRate)
        (self.decodeTimestep, self.decodeNoiseScale, self.batchRows) = (decodeTimestep, decodeNoiseScale, batchRows)
    }
}

/// The T5 side of an LTX run: the full padded context (128 tokens for the released model) and its mask
/// (1 = real token incl. EOS), for the prompt and the negative prompt.
public struct LTXText: Sendable {
    public var context: HostTensor        // [1, L, caption_channels]
    public var mask: HostTensor           // [1, L]
    public var negative: HostTensor?
    public var negativeMask: HostTensor?

    public init(context: HostTensor, mask: HostTensor, negative: HostTensor? = nil, negativeMask: HostTensor? = nil) {
        (self.context, self.mask, self.negative, self.negativeMask) = (context, mask, negative, negativeMask)
    }
}

/// The LTX-Video 0.9.x / VACE-LTX-Video generation loop (LTX-Video 0.9.1 `LTXVideoPipeline.__call__`,
/// VACE `vace/models/ltx/pipelines/pipeline_ltx_video.py`):
///
///     noise [1, 128, R + F, H', W'] ─ per step: rows [uncond, cond, cond with STG-skipped self-attention]
///       v = v_u + g·(v_c − v_u);  v += s·(v_c − v_p);  v *= r·std(v_c)/std(v) + 1 − r   (rescale only with STG)
///       x ← x − (σ_i − σ_{i+1})·v    (Euler; the model's timestep is σ)
///     drop the R reference frames ─ z·(1 − s) + ε·s ─ timestep-conditioned VAE decode (t = 0.05)
///
/// Stages hold their weights in turn, as the Wan loop: the transformer is made after the context is
/// built and released before the decode.
public final class LTXGenerator {
    let backend: any Backend
    let vae: any VideoAutoencoder
    let makeTransformer: () throws -> LTXTransformer

    public init(backend: any Backend, vae: any VideoAutoencoder, transformer: @escaping () throws -> LTXTransformer) {
        self.backend = backend
        self.vae = vae
        self.makeTransformer = transformer
    }

    /// Whether the VAE's decoder takes a timestep (LTX-Video 0.9.1+): only then are the decode
    /// timestep and noise used (the original ignores both for the 0.9 decoder).
    public var decoderIsTimestepConditioned: Bool { (vae as? LTXVAE)?.config.timestepConditioning ?? false }

    /// A whole run. `latentGrid` is (frames incl. `references` reference frames, H', W'); `vaceContext`
    /// `[1, 384, R + F, H', W']` for VACE-LTX models (nil for plain LTX-Video); `decodeNoise` the named
    /// decode noise tensors (`decode_noise`, `decoder_noise.<path>`), the rest drawn from the seed.
    public func generate(latentGrid: (frames: Int, height: Int, width: Int), references: Int = 0, vaceContext: HostTensor? = nil,
                         text: LTXText, settings: LTXGenerationSettings, initialNoise: HostTensor? = nil,
                         decodeNoise: [String: HostTensor] = [:], progress: ((GenerationEvent) -> Void)? = nil) throws -> GenerationResult {
        var seconds: [(String, Double)] = []
        func timed<T>(_ stage: String, _ work: () throws -> T) rethrows -> T {
            progress?(.stage(stage))
            let start = Date()
            defer { seconds.append((stage, Date().timeIntervalSince(start))) }
            return try work()
        }
        var transformer: LTXTransformer? = try timed("load transformer") { try makeTransformer() }
        let final = try timed("denoise") {
            try sample(transformer: transformer!, latentGrid: latentGrid, vaceContext: vaceContext, text: text, settings: settings,
                       initialNoise: initialNoise, progress: progress)
        }
        transformer = nil  // its weights go before the decoder's activations come
        let video = try timed("decode") { try decode(final, references: references, settings: settings, noise: decodeNoise) }
        return GenerationResult(latents: final, video: video, stageSeconds: seconds)
    }

    /// The sampling loop; returns the final latents `[1, C, R + F, H', W']` (references included).
    public func sample(transformer: LTXTransformer, latentGrid grid: (frames: Int, height: Int, width: Int), vaceContext: HostTensor?,
                       text: LTXText, settings: LTXGenerationSettings, initialNoise: HostTensor? = nil,
                       progress: ((GenerationEvent) -> Void)? = nil) throws -> HostTensor {
        let b = backend, config = transformer.config
        guard config.inChannels == vae.latentChannels else {
            throw PipelineError.mismatch("the VAE has \(vae.latentChannels) latent channels but the transformer takes \(config.inChannels): this VAE does not belong to this transformer")
        }
        let shape = [1, config.inChannels, grid.frames, grid.height, grid.width]
        let count = shape.reduce(1, *), tokens = grid.frames * grid.height * grid.width
        let cfg = settings.guidance > 1, stg = settings.stgScale > 0
        try check(text, config: config, cfg: cfg)
        if stg {
            guard cfg else {
                throw PipelineError.invalidOption(flag: "--stg-scale", reason: "STG needs classifier-free guidance (--guidance > 1): the original pipeline takes the perturbed row as the third of [uncond, cond, perturbed]; use --stg-scale 0 to sample without it")
            }
            guard !settings.stgLayers.isEmpty else { throw PipelineError.invalidOption(flag: "--stg-layers", reason: "give at least one layer, or --stg-scale 0") }
            if let bad = settings.stgLayers.first(where: { !(0 ..< config.numLayers).contains($0) }) {
                throw PipelineError.invalidOption(flag: "--stg-layers", reason: "layer \(bad) is outside 0…\(config.numLayers - 1) (this transformer has \(config.numLayers) layers)")
            }
        }
        var x: [Float]
        if let initialNoise {
            guard initialNoise.shape == shape else {
                throw PipelineError.invalidOption(flag: "--initial-noise", reason: "tensor 'noise' is \(initialNoise.shape), expected \(shape) (references + latent frames)")
            }
            x = initialNoise.values
        } else {
            var noise = NormalNoise(seed: settings.seed)
            x = noise.values(count)
        }
        let schedule = try FlowSchedule.ltx(steps: settings.steps, tokens: tokens, timestepScale: config.timestepScaleMultiplier)
        var sampler = EulerSampler(schedule: schedule)

        // Rows in the original's order: [uncond, cond, perturbed] (present as CFG / STG are on).
        var rows: [(context: HostTensor, mask: HostTensor, perturbed: Bool)] = []
        if cfg { rows.append((text.negative!, text.negativeMask!, false)) }
        rows.append((text.context, text.mask, false))
        if stg { rows.append((text.context, text.mask, true)) }
        let condRow = cfg ? 1 : 0
        let layers = Set(settings.stgLayers)
        let vace = try vaceContext.map { try b.tensor($0.values, Shape($0.shape)) }
        func prepare(_ part: ArraySlice<(context: HostTensor, mask: HostTensor, perturbed: Bool)>) throws -> (LTXTransformer.Prepared, LTXTransformer.AttentionSkip?) {
            let (length, width) = (text.context.shape[1], text.context.shape[2])
            let context = try b.tensor(part.flatMap(\.context.values), Shape([part.count, length, width]))
            let mask = try b.tensor(part.flatMap(\.mask.values), Shape([part.count, length]))
            let perturbed = Set(part.enumerated().filter { $0.element.perturbed }.map(\.offset))
            let p = try transformer.prepare(context: context, contextMask: mask, grid: grid, frameRate: settings.frameRate,
                                            vaceContext: vace, vaceScale: settings.contextScale)
            return (p, perturbed.isEmpty ? nil : LTXTransformer.AttentionSkip(layers: layers, rows: perturbed))
        }
        // One batch of all rows, or one call per row; both give the rows' velocities in order.
        let runs = try settings.batchRows ? [prepare(rows[...])] : rows.indices.map { try prepare(rows[$0 ... $0]) }

        for i in 0 ..< schedule.steps {
            let start = Date()
            let t = Float(schedule.timesteps[i])
            var outputs: [[Float]] = []
            for (p, skip) in runs {
                let latents = try b.tensor(Array([[Float]](repeating: x, count: p.batch).joined()), Shape([p.batch] + Array(shape.dropFirst())))
                let v = try b.floats(try transformer.step(p, latents: latents, timesteps: Array(repeating: t, count: p.batch), skip: skip))
                for r in 0 ..< p.batch { outputs.append(Array(v[r * count ..< (r + 1) * count])) }
            }
            let velocity = Self.guide(outputs, cfg: cfg, stg: stg, condRow: condRow, settings: settings)
            x = sampler.step(i, velocity: velocity, sample: x)
            progress?(.step(index: i, steps: schedule.steps, seconds: Date().timeIntervalSince(start), velocity: velocity, latents: x))
        }
        return HostTensor(x, shape)
    }

    /// CFG (Ho & Salimans 2022) then STG (Hyung et al. 2024, "Spatiotemporal Skip Guidance") with its
    /// std rescale, in f32 and in the order of LTX-Video 0.9.1 `LTXVideoPipeline.__call__`. The rescale's
    /// std is torch's unbiased std over the whole tensor.
    static func guide(_ rows: [[Float]], cfg: Bool, stg: Bool, condRow: Int, settings: LTXGenerationSettings) -> [Float] {
        let cond = rows[condRow]
        var v = cond
        if cfg {
            let (uncond, g) = (rows[0], settings.guidance)
            for j in v.indices { v[j] = uncond[j] + g * (cond[j] - uncond[j]) }
        }
        if stg {
            let (perturbed, s) = (rows[rows.count - 1], settings.stgScale)
            for j in v.indices { v[j] = v[j] + s * (cond[j] - perturbed[j]) }
            if settings.stgRescale != 1 {
                let r = settings.stgRescale
                let factor = r * (Self.std(cond) / Self.std(v)) + (1 - r)
                for j in v.indices { v[j] *= factor }
            }
        }
        return v
    }

    /// Unbiased standard deviation (accumulated in f64, returned in f32).
    static func std(_ x: [Float]) -> Float {
        let n = Double(x.count)
        let mean = x.reduce(0.0) { $0 + Double($1) } / n
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / max(n - 1, 1)
        return Float(variance.squareRoot())
    }

    private func check(_ text: LTXText, config: LTXTransformerConfig, cfg: Bool) throws {
        func shaped(_ flag: String, _ context: HostTensor, _ mask: HostTensor) throws {
            guard context.shape.count == 3, context.shape[0] == 1, context.shape[2] == config.captionChannels else {
                throw PipelineError.invalidOption(flag: "--text-embeddings \(flag)", reason: "shape \(context.shape), expected [1, L, \(config.captionChannels)]")
            }
            guard mask.shape == [1, context.shape[1]] else {
                throw PipelineError.invalidOption(flag: "--text-embeddings \(flag)_mask", reason: "shape \(mask.shape), expected [1, \(context.shape[1])] (one value per context token)")
            }
        }
        try shaped("context", text.context, text.mask)
        guard cfg else { return }
        guard let negative = text.negative, let negativeMask = text.negativeMask else {
            throw PipelineError.invalidOption(flag: "--guidance", reason: "guidance > 1 needs a negative text (tensors negative_context, negative_context_mask); use --guidance 1 to sample without it")
        }
        try shaped("negative_context", negative, negativeMask)
        guard negative.shape[1] == text.context.shape[1] else {
            throw PipelineError.invalidOption(flag: "--text-embeddings negative_context", reason: "\(negative.shape[1]) tokens, but context has \(text.context.shape[1]): both are padded to the same length")
        }
    }

    /// Drops the first `references` latent frames and decodes the rest to `[3, T, H, W]` with the decode
    /// timestep and noise of `settings` (timestep-conditioned decoders only); the video is not clamped.
    public func decode(_ latents: HostTensor, references: Int, settings: LTXGenerationSettings, noise: [String: HostTensor] = [:]) throws -> PixelVideo {
        let s = latents.shape
        let (c, frames, plane) = (s[1], s[2] - references, s[3] * s[4])
        var trimmed: [Float] = []
        trimmed.reserveCapacity(c * frames * plane)
        for ch in 0 ..< c {
            let start = (ch * s[2] + references) * plane
            trimmed += latents.values[start ..< start + frames * plane]
        }
        var options = VAEDecodeOptions(seed: settings.seed, tile: settings.decodeTile)
        if decoderIsTimestepConditioned {
            options.timestep = settings.decodeTimestep
            options.noiseScale = settings.decodeNoiseScale
            options.noise = try noise.mapValues { try backend.tensor($0.values, Shape($0.shape)) }
        } else if let name = noise.keys.sorted().first {
            throw PipelineError.invalidOption(flag: "--initial-noise", reason: "tensor '\(name)': this VAE's decoder is not timestep-conditioned and takes no decode noise")
        }
        let video = try vae.decode(try backend.tensor(trimmed, Shape([1, c, frames, s[3], s[4]])), options: options)
        let v = video.shape
        return PixelVideo(width: v[4], height: v[3], frames: v[2], values: try backend.floats(video))
    }
}
