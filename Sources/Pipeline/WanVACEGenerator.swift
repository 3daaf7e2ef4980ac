import Foundation
import Models
import Tensors

/// Sampling settings of one run (`vacekit generate --steps --guidance --shift --sampler --seed --context-scale`).
public struct GenerationSettings: Sendable {
    public var steps: Int
    public var guidance: Float
    public var shift: Double
    public var sampler: SamplerKind
    public var seed: UInt64
    public var contextScale: Float
    /// Run the conditional and unconditional passes as one batch of two (one weight pass per step).
    public var batchGuidance: Bool

    /// The defaults of the original Wan VACE code (`generate.py`: 50 steps, guidance 5, shift 16, UniPC).
    public init(steps: Int = 50, guidance: Float = 5, shift: Double = 16, sampler: SamplerKind = .unipc, seed: UInt64 = 2025,
                contextScale: Float = 1, batchGuidance: Bool = false) {
        (self.steps, self.guidance, self.shift, self.sampler) = (steps, guidance, shift, sampler)
        (self.seed, self.contextScale, self.batchGuidance) = (seed, contextScale, batchGuidance)
    }
}

/// What the loop reports while it runs.
public enum GenerationEvent {
    case stage(String)
    /// Step `index` (0-based) of `steps` finished after `seconds`; the guided velocity and the new latents.
    case step(index: Int, steps: Int, seconds: Double, velocity: [Float], latents: [Float])
}

public struct GenerationResult {
    /// The final latents as the transformer sees them, reference frames included, `[1, 16, R + T', H', W']`.
    public var latents: HostTensor
    /// The decoded video, reference frames trimmed, `[3, T, H, W]` in [−1, 1].
    public var video: PixelVideo
    /// Seconds per stage, in order.
    public var stageSeconds: [(String, Double)]
}

/// The Wan2.1-VACE generation loop (Wan2.1 `WanVace.generate`): context from the VCU, seeded noise,
/// per step the transformer on the prompt and on the negative prompt, classifier-free guidance
/// `v = v_u + g·(v_c − v_u)`, the solver; then the reference frames are dropped and the rest decoded.
/// Stages hold their weights in turn: the transformer is made after the VAE encode and released
/// before the decode, so peak memory is the largest stage.
public final class WanVACEGenerator {
    let backend: any Backend
    let vae: any VideoAutoencoder
    let makeTransformer: () throws -> WanTransformer

    public init(backend: any Backend, vae: any VideoAutoencoder, transformer: @escaping () throws -> WanTransformer) {
        self.backend = backend
        self.vae = vae
        self.makeTransformer = transformer
    }

    /// Takes the unit over: its frames and masks (at 81 frames of 480×832, 517 MB) are let go once encoded.
    public func generate(_ unit: consuming VideoConditionUnit, text: HostTensor, negative: HostTensor?, settings: GenerationSettings,
                         initialNoise: HostTensor? = nil, decodeOptions: VAEDecodeOptions = VAEDecodeOptions(),
                         progress: ((GenerationEvent) -> Void)? = nil) throws -> GenerationResult {
        var seconds: [(String, Double)] = []
        func timed<T>(_ stage: String, _ work: () throws -> T) rethrows -> T {
            progress?(.stage(stage))
            let start = Date()
            defer { seconds.append((stage, Date().timeIntervalSince(start))) }
            return try work()
        }
        progress?(.stage("encode"))
        let encodeStart = Date(), references = unit.references.count
        let context = try VACEContext.build(unit, vae: vae, on: backend)
        _ = consume unit
        seconds.append(("encode", Date().timeIntervalSince(encodeStart)))
        var transformer: WanTransformer? = try timed("load transformer") { try makeTransformer() }
        let final = try timed("denoise") {
            try sample(transformer: transformer!, vaceContext: context, text: text, negative: negative, settings: settings,
                       initialNoise: initialNoise, progress: progress)
        }
        transformer = nil  // its weights go before the decoder's activations come
        let video = try timed("decode") { try decode(final, references: references, options: decodeOptions) }
        return GenerationResult(latents: final, video: video, stageSeconds: seconds)
    }

    /// The latent shape of a context `[1, 96, F, H', W']`: `[1, 16, F, H', W']`.
    public func latentShape(context: HostTensor) -> [Int] {
        [1, vae.latentChannels, context.shape[2], context.shape[3], context.shape[4]]
    }

    /// The sampling loop on a ready context; returns the final latents (references included).
    public func sample(transformer: WanTransformer, vaceContext: HostTensor?, latentShape givenShape: [Int]? = nil,
                       text: HostTensor, negative: HostTensor?, settings: GenerationSettings, initialNoise: HostTensor? = nil,
                       progress: ((GenerationEvent) -> Void)? = nil) throws -> HostTensor {
        let b = backend, config = transformer.config
        let shape = try givenShape ?? vaceContext.map(latentShape) ?? { throw PipelineError.mismatch("no latent shape: give a VACE context") }()
        guard config.inDim == vae.latentChannels else {
            throw PipelineError.mismatch("the VAE has \(vae.latentChannels) latent channels but the transformer takes \(config.inDim): this VAE does not belong to this transformer")
        }
        if let vaceContext, config.isVACE, let inDim = config.vaceInDim, vaceContext.shape[1] != inDim {
            throw PipelineError.mismatch("the VACE context has \(vaceContext.shape[1]) channels but the transformer takes \(inDim) (2·\(vae.latentChannels) latent + \(vae.spatialFactor)² mask channels from this VAE)")
        }
        let count = shape.reduce(1, *)
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
        for (flag, t) in [("--text-embeddings context", text), ("--text-embeddings negative_context", negative)] {
            guard let t else { continue }
            guard t.shape.count == 3, t.shape[0] == 1, t.shape[2] == config.textDim, t.shape[1] <= config.textLen else {
                throw PipelineError.invalidOption(flag: flag, reason: "shape \(t.shape), expected [1, ≤\(config.textLen), \(config.textDim)]")
            }
        }
        let guided = settings.guidance != 1 && negative != nil
        if settings.guidance != 1 && negative == nil {
            throw PipelineError.invalidOption(flag: "--guidance", reason: "guidance \(settings.guidance) needs a negative text (tensor negative_context); use --guidance 1 to sample without it")
        }
        var sampler = try settings.sampler.make(steps: settings.steps, shift: settings.shift)
        let schedule = sampler.schedule
        let vace = try vaceContext.map { try b.tensor($0.values, Shape($0.shape)) }
        let scales = [settings.contextScale]
        func padded(_ t: HostTensor) -> [Float] { t.values + [Float](repeating: 0, count: (config.textLen - t.shape[1]) * config.textDim) }

        // What stays fixed over the steps (text projections, RoPE tables, embedded VACE context), once.
        var single: (cond: WanTransformer.Prepared, uncond: WanTransformer.Prepared?)?
        var batched: WanTransformer.Prepared?
        if guided && settings.batchGuidance, let negative {
            let text2 = try b.tensor(padded(text) + padded(negative), [2, config.textLen, config.textDim])
            let vace2 = try vaceContext.map { try b.tensor($0.values + $0.values, Shape([2] + $0.shape.dropFirst())) }
            batched = try transformer.prepare(latentShape: Shape([2] + shape.dropFirst()), text: text2, vaceContext: vace2, vaceScales: scales)
        } else {
            let cond = try transformer.prepare(latentShape: Shape(shape), text: try b.tensor(text.values, Shape(text.shape)), vaceContext: vace, vaceScales: scales)
            let uncond = try guided ? negative.map {
                try transformer.prepare(latentShape: Shape(shape), text: try b.tensor($0.values, Shape($0.shape)), vaceContext: vace, vaceScales: scales)
            } : nil
            single = (cond, uncond)
        }

        for i in 0 ..< schedule.steps {
            let start = Date()
            let t = schedule.timesteps[i]
            var velocity: [Float]
            if let batched {
                let out = try b.floats(try transformer.step(batched, latents: try b.tensor(x + x, Shape([2] + shape.dropFirst())), timesteps: [t, t]))
                velocity = Self.guide(cond: Array(out[0 ..< count]), uncond: Array(out[count...]), scale: settings.guidance)
            } else if let single {
                let latents = try b.tensor(x, Shape(shape))
                let cond = try b.floats(try transformer.step(single.cond, latents: latents, timesteps: [t]))
                if let uncondRun = single.uncond {
                    let uncond = try b.floats(try transformer.step(uncondRun, latents: latents, timesteps: [t]))
                    velocity = Self.guide(cond: cond, uncond: uncond, scale: settings.guidance)
                } else {
                    velocity = cond
                }
            } else { fatalError("unreachable") }
            x = sampler.step(i, velocity: velocity, sample: x)
            progress?(.step(index: i, steps: schedule.steps, seconds: Date().timeIntervalSince(start), velocity: velocity, latents: x))
        }
        return HostTensor(x, shape)
    }

    /// Classifier-free guidance (Ho & Salimans 2022) as Wan2.1 `WanVace.generate`: `v_u + g·(v_c − v_u)`, f32.
    static func guide(cond: [Float], uncond: [Float], scale: Float) -> [Float] {
        var out = uncond
        for j in out.indices { out[j] = uncond[j] + scale * (cond[j] - uncond[j]) }
        return out
    }

    /// Drops the first `references` latent frames and decodes the rest to `[3, T, H, W]`.
    public func decode(_ latents: HostTensor, references: Int, options: VAEDecodeOptions = VAEDecodeOptions()) throws -> PixelVideo {
        let s = latents.shape
        let (c, frames, plane) = (s[1], s[2] - references, s[3] * s[4])
        var trimmed: [Float] = []
        trimmed.reserveCapacity(c * frames * plane)
        for ch in 0 ..< c {
            let start = (ch * s[2] + references) * plane
            trimmed += latents.values[start ..< start + frames * plane]
        }
        let latent = try backend.tensor(trimmed, [1, c, frames, s[3], s[4]])
        trimmed = []
        let (height, width) = (s[3] * vae.spatialFactor, s[4] * vae.spatialFactor)
        let total = (frames - 1) * vae.temporalFactor + 1, pixels = height * width
        // The decoded frames are copied into the [3, T, H, W] video as they come, so the video is held once
        // (at 81 frames of 480×832, 388 MB), not also joined on the backend first.
        var values = [Float](repeating: 0, count: 3 * total * pixels)
        var done = 0
        try vae.decode(latent, options: options) { chunk in
            let t = chunk.shape[2]
            guard chunk.shape.dims == [1, 3, t, height, width], done + t <= total else {
                throw TensorError("WanVACEGenerator.decode", "the VAE gave frames \(chunk.shape) after \(done) of \(total) at \(width)×\(height)")
            }
            let part = try backend.floats(chunk)
            for ch in 0 ..< 3 {
                let source = ch * t * pixels, target = (ch * total + done) * pixels
                values.withUnsafeMutableBufferPointer { v in
                    part.withUnsafeBufferPointer { p in (v.baseAddress! + target).update(from: p.baseAddress! + source, count: t * pixels) }
                }
            }
            done += t
        }
        guard done == total else { throw TensorError("WanVACEGenerator.decode", "the VAE gave \(done) of \(total) frames") }
        return PixelVideo(width: width, height: height, frames: total, values: values)
    }
}
