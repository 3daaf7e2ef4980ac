import Checkpoints
import Foundation
import Media
import Models
import Pipeline
import Tensors
import TextTokenizers
import Validation
import VKQ

/// `generate` for LTX-Video 0.9.x and VACE-LTX-Video-0.9 (the --model header picks this path): the flags,
/// the media rules and the defaults of LTX-Video 0.9.1 `inference.py` and VACE `vace_ltx_inference.py`.
extension GenerateCommand {
    func runLTX(_ modelWeights: VKQWeights) throws {
        let report = GenerateReport(json: json)
        // 1. Flags that need no file.
        if shift != nil { throw GenerateError("--shift is Wan's; LTX-Video's schedule shifts by the token count (no flag)") }
        if let sampler { throw GenerateError("--sampler \(sampler): LTX-Video samples with its rectified-flow Euler (no --sampler)") }
        guard let vaceTask = VACETask(rawValue: task) else { throw GenerateError("--task \(task): use \(VACETask.allCases.map(\.rawValue).joined(separator: ", "))") }
        guard [".mp4", ".mov", ".mkv"].contains(where: output.lowercased().hasSuffix) else { throw GenerateError("--output \(output): write an .mp4 (or .mov/.mkv) file") }
        if textEmbeddings != nil && prompt != nil { throw GenerateError("--text-embeddings and --prompt: give one of them") }
        if textEmbeddings == nil && prompt == nil {
            throw GenerateError("give --text-embeddings F (tensors context, context_mask, negative_context, negative_context_mask) or --prompt TEXT --text-encoder T5.vkq")
        }
        if negativePrompt != nil && prompt == nil { throw GenerateError("--negative-prompt needs --prompt (with --text-embeddings, the negative text is the tensor negative_context)") }
        if prompt != nil && textEncoder == nil { throw GenerateError("--prompt needs --text-encoder T5.vkq (the converted T5-v1.1-XXL encoder)") }
        var settings = LTXGenerationSettings(seed: seed, contextScale: contextScale)
        settings.batchRows = try batchedGuidance(default: true)
        if let steps { settings.steps = steps }
        if let guidance { settings.guidance = guidance }
        if let stgScale { settings.stgScale = stgScale }
        if let stgRescale { settings.stgRescale = stgRescale }
        if let decodeTimestep { settings.decodeTimestep = decodeTimestep }
        if let decodeNoiseScale { settings.decodeNoiseScale = decodeNoiseScale }
        if let stgLayers {
            let layers = stgLayers.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !layers.isEmpty, layers.allSatisfy({ ($0 ?? -1) >= 0 }) else {
                throw GenerateError("--stg-layers \(stgLayers): comma-separated layer indices, e.g. 19 or 18,19")
            }
            settings.stgLayers = layers.map { $0! }
        }
        guard settings.steps >= 2 else { throw GenerateError("--steps \(settings.steps): LTX-Video's schedule needs at least 2 steps (its terminal stretch divides 0 by 0 at 1)") }
        for (flag, value) in [("--guidance", settings.guidance), ("--stg-scale", settings.stgScale), ("--stg-rescale", settings.stgRescale),
                              ("--decode-timestep", settings.decodeTimestep), ("--decode-noise-scale", settings.decodeNoiseScale)] {
            guard value.isFinite, value >= 0 else { throw GenerateError("\(flag) \(value): must be a finite number ≥ 0") }
        }
        if settings.stgScale > 0 && settings.guidance <= 1 {
            throw GenerateError("--stg-scale \(settings.stgScale) needs --guidance > 1: the original pipeline runs STG only beside classifier-free guidance (--stg-scale 0 turns STG off)")
        }
        if let frameRate, !(frameRate > 0 && frameRate.isFinite) { throw GenerateError("--frame-rate \(frameRate): must be positive") }
        if let fps, !(fps > 0 && fps.isFinite) { throw GenerateError("--fps \(fps): must be positive") }
        if let vaeTile, vaeTile < 64 || vaeTile % 32 != 0 { throw GenerateError("--vae-tile \(vaeTile): a multiple of 32, at least 64, for LTX-Video") }
        settings.decodeTile = vaeTile
        if vaeBands != 1 { throw GenerateError("--vae-bands \(vaeBands): row bands are the Wan2.1 VAE's (LTX-Video: --vae-tile)") }
        if mask != nil && video == nil { throw GenerateError("--mask without --video: a mask needs the video it applies to") }
        if video != nil && size != nil { throw GenerateError("--size: with --video the size follows the clip (VACE-LTX's 512×768 area cap, sides multiples of 32)") }
        if ref.count > TaskBuilder.maxReferences { throw GenerateError("--ref: at most \(TaskBuilder.maxReferences) reference images, got \(ref.count)") }
        for (flag, path) in [("--vae", vae)] + ref.map({ ("--ref", $0) }) + [("--text-embeddings", textEmbeddings), ("--text-encoder", textEncoder), ("--initial-noise", initialNoise)].compactMap({ f, p in p.map { (f, $0) } }) {
            guard FileManager.default.isReadableFile(atPath: path) else { throw GenerateError("\(flag) \(path): no such file or not readable") }
        }

        // 2. Models, checked against each other before any sampling.
        guard modelWeights.file.header.component == "transformer" else {
            throw GenerateError("--model \(model): a \(modelWeights.family) \(modelWeights.file.header.component), not a transformer")
        }
        let config = try modelWeights.config(LTXTransformerConfig.self)
        if !config.isVACE && (vaceTask != .t2v || video != nil || !ref.isEmpty) {
            throw GenerateError("--model \(model): this LTX-Video transformer has no VACE context blocks; --task \(task)" + (ref.isEmpty ? "" : " with --ref") + " needs VACE-LTX-Video (plain LTX-Video runs --task t2v)")
        }
        if settings.stgScale > 0, let bad = settings.stgLayers.first(where: { $0 >= config.numLayers }) {
            throw GenerateError("--stg-layers: layer \(bad) is outside 0…\(config.numLayers - 1) (--model \(model) has \(config.numLayers) layers)")
        }
        let vaeWeights = try VKQWeights(url: URL(fileURLWithPath: vae))
        guard vaeWeights.family.hasPrefix("ltx-video-vae-") else {
            throw GenerateError("--vae \(vae): a \(vaeWeights.family) \(vaeWeights.file.header.component), not the LTX-Video VAE this transformer needs")
        }
        try checkVAECache()
        let backend = try DeviceOption.backend(device, activations: "f32", vaeCache: vaeCache)
        let autoencoder = try VideoAutoencoders.load(vaeWeights, on: backend)
        guard autoencoder.latentChannels == config.inChannels else {
            throw GenerateError("--vae \(vae): \(autoencoder.latentChannels) latent channels, but --model \(model) takes \(config.inChannels): they do not belong together")
        }
        // 3. Media and the Video Condition Unit (VACE-LTX only), then its context through the VAE.
        report.stage("read inputs")
        let readStart = Date()
        var vaceContext: HostTensor?, references = 0
        var ropeRate = Double(Int(frameRate ?? 25))  // T2V: the integer rate (VACE's wrapper `int(frame_rate)`)
        var grid: (frames: Int, height: Int, width: Int)
        var clipFPS: Double?
        if config.isVACE {
            let (inputs, rate) = try ltxInputs(task: vaceTask, report: report)
            if let rate { (ropeRate, clipFPS) = (rate.rope, rate.clip) }
            let unit: VideoConditionUnit
            do { unit = try TaskBuilder.build(vaceTask, inputs, grid: 32, temporalFactor: 8) } catch let error as PipelineError { throw GenerateError(error.description) }
            report.seconds.append(("read inputs", Date().timeIntervalSince(readStart)))
            report.stage("encode")
            let encodeStart = Date()
            vaceContext = try LTXVACEContext.build(unit, vae: autoencoder, on: backend)
            report.seconds.append(("encode", Date().timeIntervalSince(encodeStart)))
            references = unit.references.count
            grid = (vaceContext!.shape[2], vaceContext!.shape[3], vaceContext!.shape[4])
        } else {
            let size = try ltxSize(report), frameCount = ltxFrames(report)
            grid = (frames: (frameCount - 1) / 8 + 1, height: size.height / 32, width: size.width / 32)
        }

        // 4. Text and noise.
        let textStart = Date()
        let text = try ltxText(config: config, guidance: settings.guidance, backend: backend, report: report)
        if prompt != nil { report.seconds.append(("encode text", Date().timeIntervalSince(textStart))) }
        let (noise, decodeNoise) = try ltxNoise()
        settings.frameRate = ropeRate

        // 5. Generate.
        let generator = LTXGenerator(backend: backend, vae: autoencoder) { [residency] in
            try LTXTransformer(weights: modelWeights, backend: backend, residency: residency)
        }
        report.backend = backend.name
        let result: GenerationResult
        do {
            result = try generator.generate(latentGrid: grid, references: references, vaceContext: vaceContext, text: text, settings: settings,
                                            initialNoise: noise, decodeNoise: decodeNoise, progress: report.event)
        } catch let error as PipelineError {
            throw GenerateError(error.description)
        }
        guard result.video.values.allSatisfy(\.isFinite) else { throw GenerateError("the decoded video holds non-finite values; nothing written") }

        // 6. Outputs, each written to a temporary name and renamed when complete.
        report.stage("write")
        let start = Date()
        if let latentsOut {
            try SafetensorsWriter(tensors: [.init(name: "latents", shape: result.latents.shape, floats: result.latents.values)])
                .write(to: URL(fileURLWithPath: latentsOut))
        }
        let clip = GenerateMedia.frames(result.video, fps: fps ?? clipFPS ?? frameRate ?? 25)
        if let framesOut {
            try FileManager.default.createDirectory(atPath: framesOut, withIntermediateDirectories: true)
            for i in 0 ..< clip.frameCount {
                try ImageWriter.writePNG(clip, frame: i, to: (framesOut as NSString).appendingPathComponent(String(format: "%05d.png", i)))
            }
        }
        try VideoWriter().write(clip, to: output)
        report.seconds.append(contentsOf: result.stageSeconds)
        report.seconds.append(("write", Date().timeIntervalSince(start)))
        report.finish(output: output, frames: clip.frameCount, width: clip.width, height: clip.height, fps: clip.framesPerSecond)
    }

    /// The task's media for VACE-LTX, read as VACE's processors read them; with a source clip also its RoPE
    /// rate (clip-derived) and its own rate (for the output).
    func ltxInputs(task: VACETask, report: GenerateReport) throws -> (TaskInputs, (rope: Double, clip: Double)?) {
        if task == .inpaint && mask == nil { throw GenerateError("--task inpaint needs --mask (white = regenerate)") }
        if [.v2v, .inpaint, .outpaint, .extend].contains(task) && video == nil { throw GenerateError("--task \(task.rawValue) needs --video") }
        if task == .r2v && ref.isEmpty { throw GenerateError("--task r2v needs --ref IMAGE (1 to 3)") }
        let refs = try ref.map { try LTXMedia.readReference($0) }
        let margins = try outpaint.map { try OutpaintMargins(parsing: $0) }
        let extendMode = try extend.map { value in
            guard let mode = ExtendMode(rawValue: value) else { throw GenerateError("--extend \(value): use first, last, both or clip") }
            return mode
        }
        guard let video else {
            let size = try ltxSize(report)
            return (TaskInputs(width: size.width, height: size.height, frames: ltxFrames(report), references: refs, outpaint: margins, extend: extendMode), nil)
        }
        let probe = try GenerateMedia.probe(video, flag: "--video")
        let rate: Double
        if let frameRate { rate = frameRate } else if probe.fps > 0 { rate = probe.fps } else {
            rate = 25
            report.note("--video \(video): an image sequence has no frame rate; taking 25 fps (give the clip's rate with --frame-rate)")
        }
        let available = task == .extend ? probe.frames : min(probe.frames, frames ?? probe.frames)
        let plan = LTXClipPlan(width: probe.size.width, height: probe.size.height, frames: available, fps: rate)
        let planned = FrameSize(width: plan.width, height: plan.height)
        if planned != probe.size { report.note("--video \(video): \(probe.size) brought to \(planned) (sides multiples of 32, area at most 512×768, as VACE-LTX)") }
        if plan.frameIDs.count != probe.frames {
            report.note("--video \(video): \(plan.frameIDs.count) of \(probe.frames) frames, spread over the clip (8k + 1, at most 4992 latent tokens)")
        }
        let source = GenerateMedia.pixels(try LTXMedia.read(video, flag: "--video", plan: plan, sourceSize: probe.size))
        var maskPixels: PixelMask?
        if let mask {
            let maskProbe = try GenerateMedia.probe(mask, flag: "--mask")
            if maskProbe.size != probe.size && !maskResize {
                throw GenerateError("--mask \(mask) is \(maskProbe.size) but --video \(video) is \(probe.size) (--mask-resize scales the mask to the video)")
            }
            if maskProbe.frames != 1 && maskProbe.frames < available {
                throw GenerateError("--mask \(mask) has \(maskProbe.frames) frames but --video \(video) has \(available) (give one mask image, or a mask at least as long)")
            }
            var maskPlan = plan
            if maskProbe.frames == 1 { maskPlan.frameIDs = [0] }
            maskPixels = LTXMedia.mask(try LTXMedia.read(mask, flag: "--mask", plan: maskPlan, sourceSize: maskProbe.size))
        }
        let total = task == .extend ? ltxFrames(report) : source.frames
        let inputs = TaskInputs(width: plan.width, height: plan.height, frames: total, video: source, mask: maskPixels,
                                references: refs, outpaint: margins, extend: extendMode)
        return (inputs, (plan.ropeRate, rate))
    }

    /// --size for LTX (default 768x512): brought down to multiples of 32, with a message.
    func ltxSize(_ report: GenerateReport) throws -> FrameSize {
        guard let size else { return FrameSize(width: 768, height: 512) }
        let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 32, parts[1] >= 32 else { throw GenerateError("--size \(size): expected WxH with both sides at least 32, e.g. 768x512") }
        let fitted = FrameSize(width: parts[0] / 32 * 32, height: parts[1] / 32 * 32)
        if fitted.width != parts[0] || fitted.height != parts[1] {
            report.note("--size \(size): using \(fitted.width)x\(fitted.height) (LTX-Video's grid: multiples of 32)")
        }
        return fitted
    }

    /// --frames for LTX (default 97): brought up to 8k + 1 as LTX-Video's inference pads it, with a message.
    func ltxFrames(_ report: GenerateReport) -> Int {
        guard let frames else { return 97 }
        let fitted = max(1, frames) == 1 ? 1 : ((frames - 2) / 8 + 1) * 8 + 1
        if fitted != frames { report.note("--frames \(frames): using \(fitted) (LTX-Video takes 8k + 1 frames)") }
        return fitted
    }

    /// The T5 side: --prompt through T5-v1.1-XXL (full padded context and mask, as LTX-Video's
    /// `encode_prompt`), or --text-embeddings with context, context_mask, negative_context, negative_context_mask.
    func ltxText(config: LTXTransformerConfig, guidance: Float, backend: any Backend, report: GenerateReport) throws -> LTXText {
        let cfg = guidance > 1
        if let prompt, let textEncoder {
            report.stage("encode text")
            let weights = try VKQWeights(url: URL(fileURLWithPath: textEncoder))
            guard weights.file.header.component == "text_encoder", weights.family == "t5-v1.1-xxl" else {
                throw GenerateError("--text-encoder \(textEncoder): a \(weights.family) \(weights.file.header.component); LTX-Video needs its T5-v1.1-XXL text encoder (t5-v1.1-xxl)")
            }
            let tokenizer = try T5Tokenizer(weights: weights)
            let encoder = try T5Encoder(weights: weights, backend: backend, residency: residency)
            guard encoder.config.dim == config.captionChannels else {
                throw GenerateError("--text-encoder \(textEncoder): its hidden states are \(encoder.config.dim) wide, but --model takes captions \(config.captionChannels) wide: they do not belong together")
            }
            // The original pipelines pass clean_caption=True: lower-case, strip, then the PixArt caption cleaner.
            func encode(_ text: String) throws -> (HostTensor, HostTensor) {
                let tokens = try tokenizer.encode(text, cleanCaption: true)
                let hidden = try backend.floats(try encoder(ids: tokens.ids, mask: tokens.mask))
                return (HostTensor(hidden, [1, tokenizer.length, encoder.config.dim]), HostTensor(tokens.mask, [1, tokenizer.length]))
            }
            let (context, mask) = try encode(prompt)
            guard cfg else { return LTXText(context: context, mask: mask) }
            let (negative, negativeMask) = try encode((negativePrompt ?? "").isEmpty ? DefaultNegativePrompt.ltx : negativePrompt!)
            return LTXText(context: context, mask: mask, negative: negative, negativeMask: negativeMask)
        }
        let path = textEmbeddings!
        let file = try SafetensorsFile(url: URL(fileURLWithPath: path))
        func pair(_ name: String) throws -> (HostTensor, HostTensor)? {
            guard let entry = file.entry(name) else { return nil }
            guard entry.shape.count == 3, entry.shape[0] == 1, entry.shape[2] == config.captionChannels, entry.shape[1] > 0 else {
                throw GenerateError("--text-embeddings \(path): tensor '\(name)' is \(entry.shape), expected [1, L, \(config.captionChannels)] (L = 128 for T5 prompts)")
            }
            guard let maskEntry = file.entry(name + "_mask") else {
                throw GenerateError("--text-embeddings \(path): no tensor '\(name)_mask' (LTX-Video takes the padded context with its mask, 1 = real token)")
            }
            guard maskEntry.shape == [1, entry.shape[1]] else {
                throw GenerateError("--text-embeddings \(path): tensor '\(name)_mask' is \(maskEntry.shape), expected [1, \(entry.shape[1])]")
            }
            let mask = try LTXInputs.numbers(file, name + "_mask", path: path)
            guard mask.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw GenerateError("--text-embeddings \(path): '\(name)_mask' must hold 0 (padding) or 1 (real token)") }
            return (HostTensor(try file.floats(name), entry.shape), HostTensor(mask, maskEntry.shape))
        }
        guard let positive = try pair("context") else { throw GenerateError("--text-embeddings \(path): no tensor 'context'") }
        let (context, mask) = positive
        guard cfg else { return LTXText(context: context, mask: mask) }
        guard let negativePair = try pair("negative_context") else {
            throw GenerateError("--text-embeddings \(path): no tensor 'negative_context' (needed for --guidance \(guidance); --guidance 1 samples without it)")
        }
        let (negative, negativeMask) = negativePair
        guard negative.shape == context.shape else {
            throw GenerateError("--text-embeddings \(path): 'negative_context' is \(negative.shape) but 'context' is \(context.shape): both padded to the same length")
        }
        return LTXText(context: context, mask: mask, negative: negative, negativeMask: negativeMask)
    }

    /// --initial-noise: `noise` (required) and the decoder's `decode_noise` / `decoder_noise.<path>` (optional).
    func ltxNoise() throws -> (HostTensor?, [String: HostTensor]) {
        guard let initialNoise else { return (nil, [:]) }
        let file = try SafetensorsFile(url: URL(fileURLWithPath: initialNoise))
        guard let entry = file.entry("noise") else { throw GenerateError("--initial-noise \(initialNoise): no tensor 'noise'") }
        var decode: [String: HostTensor] = [:]
        for name in file.names where name != "noise" {
            guard name == "decode_noise" || name.hasPrefix("decoder_noise.") else {
                throw GenerateError("--initial-noise \(initialNoise): unknown tensor '\(name)' (it takes noise, decode_noise, decoder_noise.<path>)")
            }
            decode[name] = HostTensor(try file.floats(name), file.entry(name)!.shape)
        }
        return (HostTensor(try file.floats("noise"), entry.shape), decode)
    }
}
