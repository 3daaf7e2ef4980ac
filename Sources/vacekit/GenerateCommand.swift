import ArgumentParser
import Checkpoints
import Foundation
import Media
import Models
import Pipeline
import Tensors
import TextTokenizers
import Validation
import VKQ

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Make a video with Wan2.1-VACE or LTX-Video / VACE-LTX-Video: from files to an mp4.",
        discussion: """
            Tasks: t2v (text only), r2v (--ref images), v2v (--video control video, optional --mask), inpaint
            (--video and --mask, white = regenerate), outpaint (--video, --outpaint L,R,T,B), extend (--video,
            --extend first|last|both|clip). Any task takes up to 3 --ref images. A DIR is an image sequence.
            Text: --prompt TEXT with --text-encoder TEXT.vkq (the converted umT5-XXL; an empty --negative-prompt
            means the original Wan negative prompt), or --text-embeddings F with tensors context [1,L,4096] and
            negative_context. The text encoder is released before the transformer loads.

            Defaults per model family (the --model file says which one):
            Wan2.1-VACE: --sampler unipc, --steps 50, --shift 16, --guidance 5; sizes in multiples of 16 (832x480), \
            4k+1 frames (81), 16 fps.

            LTX-Video 0.9.x / VACE-LTX-Video: rectified-flow Euler whose schedule shifts by the token count (no \
            --sampler, no --shift), --steps 40, --guidance 3, STG (stg_a) --stg-scale 1 --stg-layers 19 \
            --stg-rescale 0.7, --decode-timestep 0.05 --decode-noise-scale 0.025 (0.9.1+ VAEs), 768x512, 97 frames, \
            --frame-rate 25. --stg-scale 0 turns STG off; the rescale applies only with STG; STG needs --guidance > 1. \
            Sizes are brought to multiples of 32 and frame counts to 8k+1, with a message. --prompt runs T5-v1.1-XXL \
            (--text-encoder) over the full 128-token padded context with its mask (an empty --negative-prompt means \
            LTX's default); --text-embeddings holds context [1,128,4096], context_mask [1,128], negative_context, \
            negative_context_mask. --initial-noise holds noise [1,128,R+F',H',W'] and optionally decode_noise \
            [1,128,F',H',W'] and the decoder's maps decoder_noise.<path> (as `vae decode` takes them). The decoded \
            video is not clamped before the writer. Plain LTX-Video runs --task t2v; VACE-LTX runs every task. \
            With --video (VACE-LTX) the size and frames follow the clip as VACE's processor takes them: the 512×768 area \
            is a cap (smaller clips are not upscaled), at most 4992 latent tokens, frames spread over the whole clip, \
            and RoPE takes the clip-derived rate n / ((n − ½) / fps) (fps: --frame-rate, else the file's; image \
            sequences have none); references are first scaled to at most 384 latent tokens (Lanczos, centre crop), then \
            letter-boxed on white. Every VAE encode uses the posterior mean (the original samples it with an unseeded \
            generator; the mean makes a run reproducible).
            """)

    @Option(help: "The converted transformer (.vkq).") var model: String
    @Option(help: "The converted VAE (.vkq).") var vae: String
    @Option(help: "t2v, r2v, v2v, inpaint, outpaint or extend.") var task: String
    @Option(help: "Source or control video: a file or an image directory.") var video: String?
    @Option(help: "Mask video, image or image directory (white = regenerate).") var mask: String?
    @Option(help: "A reference image (repeatable, up to 3, in order).") var ref: [String] = []
    @Option(help: "Output size WxH (multiples of 16; default: the video's, else 832x480).") var size: String?
    @Option(help: "Frame count, 4k+1 (default: the video's, else 81).") var frames: Int?
    @Option(help: "Output frame rate (default: the source's, else 16).") var fps: Double?
    @Option(name: .customLong("text-embeddings"), help: "Text embeddings (.safetensors: context, negative_context).") var textEmbeddings: String?
    @Option(help: "The prompt (needs --text-encoder).") var prompt: String?
    @Option(name: .customLong("text-encoder"), help: "The converted umT5 text encoder (.vkq).") var textEncoder: String?
    @Option(name: .customLong("negative-prompt"), help: "The negative prompt (empty: the Wan default).") var negativePrompt: String?
    @Option(name: .customLong("initial-noise"), help: "Initial noise (.safetensors, tensor noise [1,16,R+F',H',W']).") var initialNoise: String?
    @Option(help: "Sampling steps (Wan: 50, LTX: 40).") var steps: Int?
    @Option(help: "Classifier-free guidance scale (1: no negative pass; Wan: 5, LTX: 3).") var guidance: Float?
    @Option(help: "Wan only: sigma shift (16 for VACE at 480p, as the original).") var shift: Double?
    @Option(help: "Wan only: unipc (the original Wan solver, default) or euler (diffusers' flow-matching Euler).") var sampler: String?
    @Option(name: .customLong("stg-scale"), help: "LTX only: spatio-temporal guidance scale (default 1; 0: off).") var stgScale: Float?
    @Option(name: .customLong("stg-layers"), help: "LTX only: comma-separated layers whose self-attention STG skips (default 19).") var stgLayers: String?
    @Option(name: .customLong("stg-rescale"), help: "LTX only: STG std rescale (default 0.7; 1: off).") var stgRescale: Float?
    @Option(name: .customLong("frame-rate"), help: "LTX only: the frame rate of the given clip (RoPE time; default 25).") var frameRate: Double?
    @Option(name: .customLong("decode-timestep"), help: "LTX only: decode_timestep of 0.9.1+ VAEs (default 0.05).") var decodeTimestep: Float?
    @Option(name: .customLong("decode-noise-scale"), help: "LTX only: decode_noise_scale of 0.9.1+ VAEs (default 0.025).") var decodeNoiseScale: Float?
    @Option(help: "Seed of the initial noise.") var seed: UInt64 = 2025
    @Option(name: .customLong("context-scale"), help: "Scale of the VACE hints.") var contextScale: Float = 1
    @Option(help: "Guidance passes: separate (the conditional, unconditional and STG forwards one after the other) or batched (one forward of all rows: one weight pass per step, that many times the activations). Default: separate for Wan, batched for LTX-Video.") var cfg: String?
    @Option(help: "cpu, vulkan or vulkan:N.") var device: String?
    @Option(name: .customLong("weights"), help: "Block weights: resident or streamed (low memory).") var residency: WeightResidency = .resident
    @Option(name: .customLong("vae-tile"), help: "Decode in spatial tiles of SIZE pixels.") var vaeTile: Int?
    @Option(name: .customLong("vae-bands"), help: "Wan: decode in N exact row bands (each recomputes the rows its convolutions reach; the whole frame's result, the causal caches of one band at a time: less memory, more compute).") var vaeBands: Int = 1
    @Option(name: .customLong("vae-cache"), help: "CPU: f32 (default) or f16, the precision the VAE's causal caches are kept in (f16: half their memory; the Wan VAE's are 3.5 GB in f32 at 832x480).") var vaeCache: String = "f32"
    @Option(name: .customLong("latents-out"), help: "Write the final latents (tensor latents) here.") var latentsOut: String?
    @Option(name: .customLong("frames-out"), help: "Also write the decoded frames as PNG into DIR.") var framesOut: String?
    @Option(name: .customLong("outpaint"), help: "outpaint: LEFT,RIGHT,TOP,BOTTOM canvas fractions.") var outpaint: String?
    @Option(name: .customLong("extend"), help: "extend: first, last, both or clip.") var extend: String?
    @Flag(name: .customLong("mask-resize"), help: "Scale a mask of another size to the video's.") var maskResize = false
    @Flag(help: "Print the summary as JSON on stdout.") var json = false
    @Option(name: .shortAndLong, help: "The output video (.mp4).") var output: String

    /// `--cfg` as "one batched call of all rows", or the family's `default` when not given.
    func batchedGuidance(default batched: Bool) throws -> Bool {
        switch cfg {
        case nil: batched
        case "batched": true
        case "separate": false
        case let other?: throw GenerateError("--cfg \(other): use separate or batched")
        }
    }

    func checkVAECache() throws {
        guard ["f32", "f16"].contains(vaeCache) else { throw GenerateError("--vae-cache \(vaeCache): use f32 or f16") }
    }

    func run() throws {
        // The family of --model picks the pipeline (a file that cannot be read gets the Wan checks' errors).
        if FileManager.default.isReadableFile(atPath: model), let weights = try? VKQWeights(url: URL(fileURLWithPath: model)),
           LTXInputs.isLTX(family: weights.family) {
            return try runLTX(weights)
        }
        let report = GenerateReport(json: json)
        // 1. Flags that need no file.
        let ltxOnly: [(String, Bool)] = [("--stg-scale", stgScale != nil), ("--stg-layers", stgLayers != nil), ("--stg-rescale", stgRescale != nil),
                                         ("--frame-rate", frameRate != nil), ("--decode-timestep", decodeTimestep != nil),
                                         ("--decode-noise-scale", decodeNoiseScale != nil)]
        if let flag = ltxOnly.first(where: \.1)?.0 { throw GenerateError("\(flag) applies to LTX-Video models; --model \(model) is not one") }
        let (steps, guidance, shift, sampler) = (self.steps ?? 50, self.guidance ?? 5, self.shift ?? 16, self.sampler ?? "unipc")
        guard let vaceTask = VACETask(rawValue: task) else { throw GenerateError("--task \(task): use \(VACETask.allCases.map(\.rawValue).joined(separator: ", "))") }
        let batchGuidance = try batchedGuidance(default: false)
        guard let samplerKind = SamplerKind(rawValue: sampler) else { throw GenerateError("--sampler \(sampler): use unipc or euler") }
        guard output.lowercased().hasSuffix(".mp4") || output.lowercased().hasSuffix(".mov") || output.lowercased().hasSuffix(".mkv") else {
            throw GenerateError("--output \(output): write an .mp4 (or .mov/.mkv) file")
        }
        if textEmbeddings != nil && prompt != nil { throw GenerateError("--text-embeddings and --prompt: give one of them") }
        if textEmbeddings == nil && prompt == nil { throw GenerateError("give --text-embeddings F (tensors context, negative_context) or --prompt TEXT --text-encoder TEXT.vkq") }
        if negativePrompt != nil && prompt == nil { throw GenerateError("--negative-prompt needs --prompt (with --text-embeddings, the negative text is the tensor negative_context)") }
        if prompt != nil && textEncoder == nil { throw GenerateError("--prompt needs --text-encoder TEXT.vkq (the converted umT5 encoder)") }
        if let frames, frames < 1 || (frames - 1) % 4 != 0 { throw GenerateError("--frames \(frames): the frame count must be 4k + 1 (1, 5, 9, …, 81)") }
        if let fps, !(fps > 0 && fps.isFinite) { throw GenerateError("--fps \(fps): must be positive") }
        if let vaeTile, vaeTile < 64 || vaeTile % 8 != 0 { throw GenerateError("--vae-tile \(vaeTile): a multiple of 8, at least 64") }
        if vaeBands < 1 { throw GenerateError("--vae-bands \(vaeBands): at least 1 (1: whole frames)") }
        if vaeBands > 1 && vaeTile != nil { throw GenerateError("--vae-bands and --vae-tile: give one of them") }
        try checkVAECache()
        let extendMode = try extend.map { value in
            guard let mode = ExtendMode(rawValue: value) else { throw GenerateError("--extend \(value): use first, last, both or clip") }
            return mode
        }
        let margins = try outpaint.map { try OutpaintMargins(parsing: $0) }
        let requestedSize = try size.map(Self.parseSize)
        let inputFiles = [("--model", model), ("--vae", vae)] + ref.map { ("--ref", $0) }
            + [("--text-embeddings", textEmbeddings), ("--text-encoder", textEncoder), ("--initial-noise", initialNoise)].compactMap { f, p in p.map { (f, $0) } }
        for (flag, path) in inputFiles {
            guard FileManager.default.isReadableFile(atPath: path) else { throw GenerateError("\(flag) \(path): no such file or not readable") }
        }

        // 2. Media, brought to the grid, and the Video Condition Unit.
        report.stage("read inputs")
        let readStart = Date()
        let inputs = try readInputs(task: vaceTask, requestedSize: requestedSize, extend: extendMode, margins: margins, report: report)
        let unit = try TaskBuilder.build(vaceTask, inputs.task)
        report.seconds.append(("read inputs", Date().timeIntervalSince(readStart)))
        // A band holds at least one latent row (8 pixels): refused here, not after the sampling.
        if vaeBands > unit.height / 8 { throw GenerateError("--vae-bands \(vaeBands): at most \(unit.height / 8) for frames \(unit.height) pixels high") }

        // 3. Models: checked against each other before any sampling.
        let backend = try DeviceOption.backend(device, activations: "f32", vaeCache: vaeCache)
        let modelWeights = try VKQWeights(url: URL(fileURLWithPath: model))
        guard modelWeights.family.hasPrefix("wan2.1") && modelWeights.file.header.component == "transformer" else {
            throw GenerateError("--model \(model): a \(modelWeights.family) \(modelWeights.file.header.component); generate runs Wan2.1(-VACE) transformers")
        }
        let config = try modelWeights.config(WanTransformerConfig.self)
        let needsVACE = vaceTask != .t2v || !unit.references.isEmpty
        if !config.isVACE {
            throw GenerateError("--model \(model): this transformer has no VACE blocks (a plain Wan2.1 T2V model); --task \(task) needs Wan2.1-VACE" + (needsVACE ? "" : " (every task of generate runs the VACE context branch)"))
        }
        let vaeWeights = try VKQWeights(url: URL(fileURLWithPath: vae))
        guard vaeWeights.family.hasPrefix("wan2.1-vae") else {
            throw GenerateError("--vae \(vae): a \(vaeWeights.family) \(vaeWeights.file.header.component), not the Wan2.1 VAE this transformer needs")
        }
        let autoencoder = try VideoAutoencoders.load(vaeWeights, on: backend)
        guard autoencoder.latentChannels == config.inDim else {
            throw GenerateError("--vae \(vae): \(autoencoder.latentChannels) latent channels, but --model \(model) takes \(config.inDim): they do not belong together")
        }

        // 4. Text: the encoder (if any) lives only inside this stage.
        let textStart = Date()
        let text = try readText(config: config, guidance: guidance, backend: backend, report: report)
        if prompt != nil { report.seconds.append(("encode text", Date().timeIntervalSince(textStart))) }
        let noise = try initialNoise.map { path -> HostTensor in
            let file = try SafetensorsFile(url: URL(fileURLWithPath: path))
            guard let entry = file.entry("noise") else { throw GenerateError("--initial-noise \(path): no tensor 'noise'") }
            return HostTensor(try file.floats("noise"), entry.shape)
        }

        // 5. Generate.
        let settings = GenerationSettings(steps: steps, guidance: guidance, shift: shift, sampler: samplerKind, seed: seed, contextScale: contextScale,
                                          batchGuidance: batchGuidance)
        let generator = WanVACEGenerator(backend: backend, vae: autoencoder) { [residency] in
            try WanTransformer(weights: modelWeights, backend: backend, residency: residency)
        }
        report.backend = backend.name
        let result = try generator.generate(consume unit, text: text.positive, negative: text.negative, settings: settings, initialNoise: noise,
                                            decodeOptions: VAEDecodeOptions(tile: vaeTile, rowBands: vaeBands), progress: report.event)

        // 6. Outputs: each written to a temporary name and renamed when complete.
        report.stage("write")
        let start = Date()
        if let latentsOut {
            try SafetensorsWriter(tensors: [.init(name: "latents", shape: result.latents.shape, floats: result.latents.values)])
                .write(to: URL(fileURLWithPath: latentsOut))
        }
        let clip = GenerateMedia.frames(result.video, fps: fps ?? (inputs.fps > 0 ? inputs.fps : 16))
        if let framesOut {
            try FileManager.default.createDirectory(atPath: framesOut, withIntermediateDirectories: true)
            for i in 0 ..< clip.frameCount {
                try ImageWriter.writePNG(clip, frame: i, to: (framesOut as NSString).appendingPathComponent(String(format: "%05d.png", i)))
            }
        }
        try VideoWriter().write(clip, to: output)
        report.seconds.append(("write", Date().timeIntervalSince(start)))
        report.seconds.insert(contentsOf: result.stageSeconds, at: report.seconds.count - 1)
        report.finish(output: output, frames: clip.frameCount, width: clip.width, height: clip.height, fps: clip.framesPerSecond)
    }

    static func parseSize(_ text: String) throws -> FrameSize {
        let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { throw GenerateError("--size \(text): expected WxH, e.g. 832x480") }
        guard parts[0] % 16 == 0, parts[1] % 16 == 0 else {
            throw GenerateError("--size \(text): width and height must be multiples of 16 (e.g. \(parts[0] / 16 * 16)x\(parts[1] / 16 * 16))")
        }
        return FrameSize(width: parts[0], height: parts[1])
    }

    struct Inputs { var task: TaskInputs; var fps: Double }

    func readInputs(task: VACETask, requestedSize: FrameSize?, extend: ExtendMode?, margins: OutpaintMargins?, report: GenerateReport) throws -> Inputs {
        if mask != nil && video == nil { throw GenerateError("--mask without --video: a mask needs the video it applies to") }
        if task == .inpaint && mask == nil { throw GenerateError("--task inpaint needs --mask (white = regenerate)") }
        if [.v2v, .inpaint, .outpaint, .extend].contains(task) && video == nil { throw GenerateError("--task \(task.rawValue) needs --video") }
        if task == .r2v && ref.isEmpty { throw GenerateError("--task r2v needs --ref IMAGE (1 to 3)") }
        if ref.count > TaskBuilder.maxReferences { throw GenerateError("--ref: at most \(TaskBuilder.maxReferences) reference images, got \(ref.count)") }
        var size = requestedSize ?? FrameSize(width: 832, height: 480)
        var frameCount = frames ?? 81
        var fps = 0.0
        var source: PixelVideo?, maskPixels: PixelMask?
        if let video {
            let probe = try GenerateMedia.probe(video, flag: "--video")
            fps = probe.fps
            if requestedSize == nil {
                size = FrameSize(width: max(16, probe.size.width / 16 * 16), height: max(16, probe.size.height / 16 * 16))
            }
            if size != probe.size { report.note("--video \(video): resized from \(probe.size) to \(size) (the model's grid: multiples of 16)") }
            let available = task == .extend ? probe.frames : min(probe.frames, frames ?? probe.frames)
            let usable = (available - 1) / 4 * 4 + 1
            if usable != probe.frames && task != .extend { report.note("--video \(video): using \(usable) of \(probe.frames) frames (4k + 1)") }
            let read = try GenerateMedia.read(video, flag: "--video", size: size, maxFrames: task == .extend ? nil : usable)
            source = GenerateMedia.pixels(read)
            if task != .extend { frameCount = read.frameCount }
            if let mask {
                let maskProbe = try GenerateMedia.probe(mask, flag: "--mask")
                if maskProbe.size != probe.size && !maskResize {
                    throw GenerateError("--mask \(mask) is \(maskProbe.size) but --video \(video) is \(probe.size) (--mask-resize scales the mask to the video)")
                }
                if maskProbe.frames != 1 && maskProbe.frames < probe.frames {
                    throw GenerateError("--mask \(mask) has \(maskProbe.frames) frames but --video \(video) has \(probe.frames) (give one mask image, or a mask at least as long)")
                }
                let maskFrames = try GenerateMedia.read(mask, flag: "--mask", size: size, maxFrames: maskProbe.frames == 1 ? 1 : frameCount)
                maskPixels = GenerateMedia.mask(maskFrames)
            }
        }
        let refs = try ref.map { path -> PixelVideo in GenerateMedia.pixels(try GenerateMedia.read(path, flag: "--ref", size: nil, maxFrames: 1)) }
        return Inputs(task: TaskInputs(width: size.width, height: size.height, frames: frameCount, video: source, mask: maskPixels,
                                       references: refs, outpaint: margins, extend: extend), fps: fps)
    }

    func readText(config: WanTransformerConfig, guidance: Float, backend: any Backend, report: GenerateReport) throws -> (positive: HostTensor, negative: HostTensor?) {
        if let prompt, let textEncoder {
            report.stage("encode text")
            let encoder = try UMT5PromptEncoder(path: textEncoder, textDim: config.textDim, backend: backend, residency: residency)
            let negativeText = (negativePrompt ?? "").isEmpty ? DefaultNegativePrompt.wan : negativePrompt!
            return (try encoder.encode(prompt: prompt), guidance == 1 ? nil : try encoder.encode(prompt: negativeText))
        }
        let path = textEmbeddings!
        let file = try SafetensorsFile(url: URL(fileURLWithPath: path))
        func tensor(_ name: String) throws -> HostTensor? {
            guard let entry = file.entry(name) else { return nil }
            guard entry.shape.count == 3, entry.shape[0] == 1, entry.shape[2] == config.textDim, entry.shape[1] <= config.textLen else {
                throw GenerateError("--text-embeddings \(path): tensor '\(name)' is \(entry.shape), expected [1, ≤\(config.textLen), \(config.textDim)]")
            }
            return HostTensor(try file.floats(name), entry.shape)
        }
        guard let positive = try tensor("context") else { throw GenerateError("--text-embeddings \(path): no tensor 'context'") }
        let negative = try tensor("negative_context")
        if negative == nil && guidance != 1 {
            throw GenerateError("--text-embeddings \(path): no tensor 'negative_context' (needed for --guidance \(guidance); --guidance 1 samples without it)")
        }
        return (positive, guidance == 1 ? nil : negative)
    }
}
