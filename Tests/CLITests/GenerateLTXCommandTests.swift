import Checkpoints
import Foundation
import Media
import Tensors
import Testing

/// `vacekit generate` on LTX-Video (the tiny 0.9.1-style fixture of Tests/Fixtures/ltx_generate): given the
/// original pipeline's text and noise, the run reproduces the original's final latents and, through the
/// writer's 8-bit truncation, its decoded frames; `--prompt` runs the T5 encoder; bad input is refused
/// naming the flag, exit ≠ 0 and no output left.
@Suite struct GenerateLTXCommandTests {
    static let fixture = CLI.fixtures.appending(path: "ltx_generate")

    struct Models { let dit, vae, t5, vace: String }
    static func models(_ cli: CLI) throws -> Models {
        let single = fixture.appending(path: "ltx-video-0.9.1-tiny.safetensors").path
        func convert(_ component: String) throws -> String {
            let output = cli.path("\(component).vkq")
            _ = try Converter.convert(inputs: [single], options: .init(output: URL(fileURLWithPath: output), recipe: Recipe(precision: .f32), component: component))
            return output
        }
        let t5 = cli.path("t5.vkq")
        _ = try Converter.convert(inputs: ["model.safetensors", "spiece.model"].map { CLI.fixtures.appending(path: "text/t5_hf/\($0)").path },
                                  options: .init(output: URL(fileURLWithPath: t5), recipe: Recipe(precision: .f32)))
        let vace = cli.path("vace.vkq")
        _ = try Converter.convert(inputs: [fixture.appending(path: "vace-ltx-video-0.9-tiny.safetensors").path],
                                  options: .init(output: URL(fileURLWithPath: vace), recipe: Recipe(precision: .f32), component: "transformer"))
        return Models(dit: try convert("transformer"), vae: try convert("vae"), t5: t5, vace: vace)
    }

    static func reference() throws -> SafetensorsFile { try SafetensorsFile(url: fixture.appending(path: "t2v.safetensors")) }

    /// Token layout `[1, N, C]` → latent layout `[1, C, F, H, W]`.
    static func latents(fromTokens v: [Float], channels: Int = 128) -> [Float] {
        let tokens = v.count / channels
        var out = v
        for n in 0 ..< tokens { for c in 0 ..< channels { out[c * tokens + n] = v[n * channels + c] } }
        return out
    }

    /// The text and the `cfg_stg` case's noise as `generate` takes them.
    static func inputs(_ cli: CLI) throws -> (text: String, noise: String) {
        let r = try reference()
        func tensor(_ name: String, as newName: String? = nil) throws -> (String, [Int], [Float]) { (newName ?? name, r.entry(name)!.shape, try r.floats(name)) }
        let text = try cli.write("text.safetensors", try ["context", "context_mask", "negative_context", "negative_context_mask"].map { try tensor($0) })
        var noise = [("noise", [1, 128, 2, 1, 2], latents(fromTokens: try r.floats("cfg_stg.noise")))]
        for name in r.names where name.hasPrefix("cfg_stg.decode") { noise.append(try tensor(name, as: String(name.dropFirst("cfg_stg.".count)))) }
        return (text, try cli.write("noise.safetensors", noise))
    }

    func base(_ m: Models, _ cli: CLI, text: String) -> [String] {
        ["generate", "--model", m.dit, "--vae", m.vae, "--task", "t2v", "--text-embeddings", text, "--size", "64x32", "--frames", "9",
         "--steps", "3", "--stg-layers", "1", "--device", "cpu", "--output", cli.path("out.mp4")]
    }

    @Test func t2vReproducesTheOriginalRun() throws {
        let cli = try CLI(), m = try Self.models(cli), (text, noise) = try Self.inputs(cli)
        let result = try GenerateCommandTests.run(base(m, cli, text: text) + ["--initial-noise", noise, "--latents-out", cli.path("latents.safetensors"),
                                                                             "--frames-out", cli.path("frames"), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let latents = try SafetensorsFile(url: URL(fileURLWithPath: cli.path("latents.safetensors")))
        #expect(latents.entry("latents")?.shape == [1, 128, 2, 1, 2])
        let r = try Self.reference()
        let error = try ErrorMetric.compare(try latents.floats("latents"), Self.latents(fromTokens: try r.floats("cfg_stg.step2")), what: "final latents")
        #expect(error.within(3e-6), "\(error)")  // the Pipeline test measures ≤ 1e-6
        // The frames: the reference video through the writer (clamp((v + 1)/2)·255, truncated); a value on a
        // level boundary may land one level off.
        let video = try r.floats("cfg_stg.video"), plane = 9 * 32 * 64
        var worst = 0
        for t in 0 ..< 9 {
            let frame = try VideoReader().read(path: cli.path(String(format: "frames/%05d.png", t)))
            #expect(frame.width == 64 && frame.height == 32)
            for i in 0 ..< 32 * 64 {
                for c in 0 ..< 3 {
                    let v = video[c * plane + t * 32 * 64 + i]
                    let expected = Int(UInt8(min(max((v + 1) / 2, 0), 1) * 255))
                    worst = max(worst, abs(Int(frame.pixels[i * 3 + c]) - expected))
                }
            }
        }
        #expect(worst <= 1, "worst pixel difference \(worst)")
        let info = try VideoInfo(path: cli.path("out.mp4"))
        #expect(info.frameCount == 9 && info.size == FrameSize(width: 64, height: 32))
        #expect(abs(info.framesPerSecond - 25) < 1e-6)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect((json?["stages"] as? [[String: Any]])?.map { $0["stage"] as? String } == ["load transformer", "denoise", "decode", "write"])
        // The rows one at a time (`--cfg separate`; batched is LTX's default) give the same run.
        let separate = try GenerateCommandTests.run(base(m, cli, text: text) + ["--initial-noise", noise, "--cfg", "separate",
                                                                               "--latents-out", cli.path("separate.safetensors")])
        #expect(separate.status == 0, "\(separate.stderr)")
        let rows = try SafetensorsFile(url: URL(fileURLWithPath: cli.path("separate.safetensors")))
        let rowsError = try ErrorMetric.compare(try rows.floats("latents"), Self.latents(fromTokens: try r.floats("cfg_stg.step2")), what: "final latents, separate rows")
        #expect(rowsError.within(3e-6), "\(rowsError)")
    }

    @Test func promptRunsTheT5EncoderAndSizesAreFitted() throws {
        let cli = try CLI(), m = try Self.models(cli)
        let result = try GenerateCommandTests.run(["generate", "--model", m.dit, "--vae", m.vae, "--task", "t2v", "--prompt", "A cat walks",
                                                   "--text-encoder", m.t5, "--size", "70x40", "--frames", "10", "--steps", "2", "--stg-layers", "1",
                                                   "--fps", "12", "--device", "cpu", "--output", cli.path("out.mp4")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("--size 70x40: using 64x32"))
        #expect(result.stderr.contains("--frames 10: using 17"))
        let info = try VideoInfo(path: cli.path("out.mp4"))
        #expect(info.frameCount == 17 && info.size == FrameSize(width: 64, height: 32))
        #expect(abs(info.framesPerSecond - 12) < 1e-6)
    }

    @Test func vaceInpaintingWithAReferenceWritesTheClipsGrid() throws {
        let cli = try CLI(), m = try Self.models(cli), (text, _) = try Self.inputs(cli)
        let demo = GenerateCommandTests.demo
        let result = try GenerateCommandTests.run(["generate", "--model", m.vace, "--vae", m.vae, "--task", "inpaint", "--video", demo.appending(path: "clip").path,
                                                   "--mask", demo.appending(path: "mask.png").path, "--ref", demo.appending(path: "ref.png").path,
                                                   "--text-embeddings", text, "--steps", "2", "--stg-layers", "2", "--frame-rate", "24", "--json",
                                                   "--latents-out", cli.path("latents.safetensors"), "--device", "cpu", "--output", cli.path("out.mp4")])
        #expect(result.status == 0, "\(result.stderr)")
        // The 160×96 clip keeps its size (multiples of 32, under the area cap); 17 frames = 3 latent frames;
        // the latents keep the reference frame in front, the video drops it.
        let latents = try SafetensorsFile(url: URL(fileURLWithPath: cli.path("latents.safetensors")))
        #expect(latents.entry("latents")?.shape == [1, 128, 4, 3, 5])
        let info = try VideoInfo(path: cli.path("out.mp4"))
        #expect(info.frameCount == 17 && info.size == FrameSize(width: 160, height: 96))
        #expect(abs(info.framesPerSecond - 24) < 1e-6)  // the clip's rate (given for an image sequence)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect((json?["stages"] as? [[String: Any]])?.map { $0["stage"] as? String } == ["read inputs", "encode", "load transformer", "denoise", "decode", "write"])
        // VACE-LTX t2v runs the context branch on a zero video and an all-ones mask.
        let t2v = try GenerateCommandTests.run(["generate", "--model", m.vace, "--vae", m.vae, "--task", "t2v", "--text-embeddings", text, "--size", "64x32",
                                                "--frames", "9", "--steps", "2", "--stg-layers", "2", "--device", "cpu", "--output", cli.path("t2v.mp4")])
        #expect(t2v.status == 0, "\(t2v.stderr)")
    }

    @Test func badInputIsRefusedAndLeavesNoOutput() throws {
        let cli = try CLI(), m = try Self.models(cli), (text, _) = try Self.inputs(cli)
        let wrongNoise = try cli.write("wrong-noise.safetensors", [("noise", [1, 128, 3, 1, 2], [Float](repeating: 0, count: 128 * 6))])
        let strayNoise = try cli.write("stray-noise.safetensors", [("noise", [1, 128, 2, 1, 2], [Float](repeating: 0, count: 128 * 4)), ("eps", [1], [0])])
        let noMask = try cli.write("no-mask.safetensors", [("context", [1, 8, 64], [Float](repeating: 0, count: 512))])
        let wanVAE = try cli.convert("wan_vae/official/Wan2.1_VAE.pth", to: "wan-vae.vkq")
        let cases: [(String, [String], String)] = [
            ("STG layer outside the model", ["--stg-layers", "3"], "--stg-layers"),
            ("STG layers not numbers", ["--stg-layers", "a,b"], "--stg-layers"),
            ("STG without CFG", ["--guidance", "1"], "--stg-scale"),
            ("a Wan flag", ["--shift", "3"], "--shift"),
            ("a Wan sampler", ["--sampler", "unipc"], "--sampler"),
            ("one step", ["--steps", "1"], "--steps"),
            ("unknown guidance batching", ["--cfg", "both"], "--cfg"),
            ("negative decode timestep", ["--decode-timestep", "-1"], "--decode-timestep"),
            ("zero frame rate", ["--frame-rate", "0"], "--frame-rate"),
            ("impossible size", ["--size", "16x16"], "--size"),
            ("Wan VAE", ["--vae", wanVAE], "--vae"),
            ("noise of another shape", ["--initial-noise", wrongNoise], "--initial-noise"),
            ("unknown noise tensor", ["--initial-noise", strayNoise], "eps"),
            ("text without its mask", ["--text-embeddings", noMask], "context_mask"),
            ("the transformer as the text encoder", ["--prompt", "a cat", "--text-encoder", m.dit], "--text-encoder"),
            ("a VACE task on plain LTX-Video", ["--task", "r2v", "--ref", GenerateCommandTests.demo.appending(path: "ref.png").path], "no VACE context blocks"),
        ]
        for (what, arguments, needle) in cases {
            var args = base(m, cli, text: text)
            if arguments.contains("--prompt") { args.removeSubrange(args.firstIndex(of: "--text-embeddings")! ... args.firstIndex(of: "--text-embeddings")! + 1) }
            for flag in ["--task", "--vae", "--size", "--stg-layers", "--steps", "--text-embeddings"] where arguments.contains(flag) {
                if let i = args.firstIndex(of: flag) { args.removeSubrange(i ... i + 1) }
            }
            let r = try GenerateCommandTests.run(args + arguments)
            #expect(r.status != 0, "\(what): exit 0")
            #expect(r.stderr.contains(needle), "\(what): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: cli.path("out.mp4")), "\(what): output left behind")
            #expect(!cli.files.contains { $0.hasSuffix(".tmp") }, "\(what): temporary file left behind")
        }
        // VACE-LTX: the size follows the clip; a reference too small for the 32-pixel grid.
        let tiny = cli.path("tiny.png")
        try ImageWriter.writePNG(VideoFrames(width: 16, height: 16, frameCount: 1, framesPerSecond: 0, pixels: [UInt8](repeating: 200, count: 16 * 16 * 3)), frame: 0, to: tiny)
        let demo = GenerateCommandTests.demo
        for (what, arguments, needle) in [
            ("--size with --video", ["--task", "v2v", "--video", demo.appending(path: "clip").path, "--size", "64x32"], "--size"),
            ("a tiny reference", ["--task", "r2v", "--ref", tiny, "--size", "64x32"], "too small"),
            ("inpaint without a mask", ["--task", "inpaint", "--video", demo.appending(path: "clip").path], "--mask"),
        ] {
            let r = try GenerateCommandTests.run(["generate", "--model", m.vace, "--vae", m.vae, "--text-embeddings", text, "--steps", "2", "--stg-layers", "2",
                                                  "--device", "cpu", "--output", cli.path("out.mp4")] + arguments)
            #expect(r.status != 0 && r.stderr.contains(needle), "\(what): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: cli.path("out.mp4")), "\(what): output left behind")
        }
        // Wan runs refuse the LTX flags.
        let wan = try GenerateCommandTests.models(cli)
        let r = try GenerateCommandTests.run(["generate", "--model", wan.dit, "--vae", wan.vae, "--task", "t2v", "--text-embeddings", GenerateCommandTests.text,
                                              "--stg-scale", "1", "--output", cli.path("out.mp4")])
        #expect(r.status != 0 && r.stderr.contains("--stg-scale applies to LTX-Video"), "\(r.stderr)")
    }
}
