import Checkpoints
import Foundation
import Media
import Testing
import Tensors

/// `vacekit generate` end to end on the tiny fixture models (random weights): an inpainting run with a
/// reference writes an mp4 that decodes back with the asked frame count, size and rate; every bad input
/// is refused with its reason, exit ≠ 0 and no output file.
@Suite struct GenerateCommandTests {
    static let demo = CLI.fixtures.deletingLastPathComponent().deletingLastPathComponent().appending(path: "demo")
    static let text = CLI.fixtures.deletingLastPathComponent().deletingLastPathComponent().appending(path: "models/demo/text-embeddings.safetensors").path

    struct Models { let dit, vae: String }
    static func models(_ cli: CLI) throws -> Models {
        Models(dit: try cli.convert("wan_vace/official/diffusion_pytorch_model.safetensors", to: "dit.vkq"),
               vae: try cli.convert("wan_vae/official/Wan2.1_VAE.pth", to: "vae.vkq"))
    }

    /// Runs vacekit; returns status, stdout and stderr.
    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = arguments
        let (out, err) = (Pipe(), Pipe())
        (process.standardOutput, process.standardError) = (out, err)
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func base(_ m: Models, _ cli: CLI, task: String = "inpaint") -> [String] {
        ["generate", "--model", m.dit, "--vae", m.vae, "--task", task, "--text-embeddings", Self.text,
         "--size", "48x32", "--frames", "5", "--steps", "2", "--device", "cpu", "--output", cli.path("out.mp4")]
    }

    @Test func inpaintWithAReferenceWritesAnMP4ThatDecodesBack() throws {
        let cli = try CLI(), m = try Self.models(cli)
        let result = try Self.run(base(m, cli) + ["--video", Self.demo.appending(path: "clip").path, "--mask", Self.demo.appending(path: "mask.png").path,
                                                  "--ref", Self.demo.appending(path: "ref.png").path, "--fps", "12", "--json",
                                                  "--latents-out", cli.path("latents.safetensors"), "--frames-out", cli.path("frames")])
        #expect(result.status == 0, "\(result.stderr)")
        let info = try VideoInfo(path: cli.path("out.mp4"))
        #expect(info.frameCount == 5)
        #expect(info.size == FrameSize(width: 48, height: 32))
        #expect(abs(info.framesPerSecond - 12) < 1e-6)
        let frames = try VideoReader().read(path: cli.path("out.mp4"))
        #expect(frames.frameCount == 5 && frames.width == 48 && frames.height == 32)
        // The latents keep the reference frame (1 + 2 latent frames); the PNGs do not.
        let latents = try SafetensorsFile(url: URL(fileURLWithPath: cli.path("latents.safetensors")))
        #expect(latents.entry("latents")?.shape == [1, 16, 3, 4, 6])
        #expect(try FileManager.default.contentsOfDirectory(atPath: cli.path("frames")).filter { $0.hasSuffix(".png") }.count == 5)
        // The summary as JSON on stdout.
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(json?["frames"] as? Int == 5)
        #expect((json?["stages"] as? [[String: Any]])?.map { $0["stage"] as? String } == ["read inputs", "encode", "load transformer", "denoise", "decode", "write"])
        #expect((json?["peak_rss_bytes"] as? Int ?? 0) > 0)
        // Each stage's own peak (Linux resets the high-water mark per stage): every stage reported, none above the run's.
        let stagePeaks = json?["stage_peak_rss_bytes"] as? [[String: Any]] ?? []
        #expect(stagePeaks.map { $0["stage"] as? String } == ["read inputs", "encode", "load transformer", "denoise", "decode", "write"])
        #expect(stagePeaks.allSatisfy { ($0["bytes"] as? Int ?? 0) > 0 && ($0["bytes"] as? Int ?? 0) <= (json?["peak_rss_bytes"] as? Int ?? 0) })
        #expect(result.stderr.contains("resized from 160×96 to 48×32"))
    }

    @Test func theSameSeedGivesTheSameLatents() throws {
        let cli = try CLI(), m = try Self.models(cli)
        var outputs: [[Float]] = []
        for i in 0 ..< 2 {
            let r = try Self.run(base(m, cli, task: "t2v") + ["--seed", "7", "--latents-out", cli.path("l\(i).safetensors"), "--sampler", "euler"])
            #expect(r.status == 0, "\(r.stderr)")
            outputs.append(try SafetensorsFile(url: URL(fileURLWithPath: cli.path("l\(i).safetensors"))).floats("latents"))
        }
        #expect(outputs[0] == outputs[1])
    }

    @Test func badInputIsRefusedAndLeavesNoOutput() throws {
        let cli = try CLI(), m = try Self.models(cli)
        let clip = Self.demo.appending(path: "clip").path, mask = Self.demo.appending(path: "mask.png").path, ref = Self.demo.appending(path: "ref.png").path
        // A two-frame mask sequence, and a mask image of another size.
        let shortMask = cli.path("short-mask")
        try FileManager.default.createDirectory(atPath: shortMask, withIntermediateDirectories: true)
        for name in ["00000.png", "00001.png"] { try FileManager.default.copyItem(atPath: clip + "/" + name, toPath: shortMask + "/" + name) }
        // A plain Wan2.1 T2V transformer: the fixture without its VACE tensors.
        let source = try SafetensorsFile(url: CLI.fixtures.appending(path: "wan_vace/official/diffusion_pytorch_model.safetensors"))
        try FileManager.default.createDirectory(atPath: cli.path("t2v"), withIntermediateDirectories: true)
        let plain = try cli.write("t2v/diffusion_pytorch_model.safetensors",
                                  try source.names.filter { !$0.hasPrefix("vace_") }.map { ($0, source.entry($0)!.shape, try source.floats($0)) })
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: CLI.fixtures.appending(path: "wan_vace/official/config.json"))) as! [String: Any]
        (config["vace_layers"], config["vace_in_dim"], config["model_type"], config["_class_name"]) = (nil, nil, "t2v", "WanModel")
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: cli.path("t2v/config.json")))
        let t2v = cli.path("t2v.vkq")
        _ = try Converter.convert(inputs: [plain], options: .init(output: URL(fileURLWithPath: t2v), recipe: Recipe(precision: .f32)))
        // Text encoders that do not fit: LTX-Video's T5, and a umT5 wider than the transformer's text input.
        let text = CLI.fixtures.appending(path: "text")
        let t5 = cli.path("t5.vkq"), wideUMT5 = cli.path("umt5-64.vkq")
        for (folder, output) in [("t5_hf", t5), ("umt5_hf", wideUMT5)] {
            _ = try Converter.convert(inputs: ["model.safetensors", "spiece.model"].map { text.appending(path: "\(folder)/\($0)").path },
                                      options: .init(output: URL(fileURLWithPath: output), recipe: Recipe(precision: .f32)))
        }
        let noise = try cli.write("noise.safetensors", [("noise", [1, 16, 2, 4, 4], [Float](repeating: 0, count: 16 * 2 * 16))])

        let cases: [(String, [String], String)] = [
            ("missing video file", ["--task", "v2v", "--video", cli.path("nope.mp4")], "--video"),
            ("mask of another size", ["--video", clip, "--mask", ref], "--mask-resize"),
            ("mask of another length", ["--video", clip, "--mask", shortMask], "2 frames"),
            ("inpaint without a mask", ["--video", clip], "--mask"),
            ("r2v without refs", ["--task", "r2v"], "--ref"),
            ("four refs", ["--task", "r2v", "--ref", ref, "--ref", ref, "--ref", ref, "--ref", ref], "at most 3"),
            ("no VACE blocks", ["--task", "v2v", "--video", clip, "--model", t2v], "no VACE blocks"),
            ("VAE of another model", ["--task", "t2v", "--vae", m.dit], "--vae"),
            ("impossible size", ["--task", "t2v", "--size", "50x32"], "--size"),
            ("impossible frame count", ["--task", "t2v", "--frames", "8"], "--frames"),
            ("a transformer as the text encoder", ["--task", "t2v", "--prompt", "a cat", "--text-encoder", m.dit], "--text-encoder"),
            ("LTX-Video's T5 as the text encoder", ["--task", "t2v", "--prompt", "a cat", "--text-encoder", t5], "umt5-xxl"),
            ("a text encoder of another width", ["--task", "t2v", "--prompt", "a cat", "--text-encoder", wideUMT5], "64 wide"),
            ("a prompt without a text encoder", ["--task", "t2v", "--prompt", "a cat"], "--text-encoder"),
            ("noise of another shape", ["--task", "t2v", "--initial-noise", noise], "--initial-noise"),
            ("unknown task", ["--task", "paint"], "--task"),
            ("unknown guidance batching", ["--task", "t2v", "--cfg", "both"], "--cfg"),
            ("more row bands than latent rows", ["--task", "t2v", "--vae-bands", "9"], "--vae-bands"),
            ("row bands and tiles", ["--task", "t2v", "--vae-bands", "2", "--vae-tile", "64"], "--vae-bands"),
        ]
        for (what, arguments, needle) in cases {
            // Later flags win: the case's flags replace the base ones.
            var args = base(m, cli)
            if arguments.contains("--prompt") { args.removeSubrange(args.firstIndex(of: "--text-embeddings")! ... args.firstIndex(of: "--text-embeddings")! + 1) }
            for flag in ["--task", "--model", "--vae", "--size", "--frames"] where arguments.contains(flag) {
                let i = args.firstIndex(of: flag)!
                args.removeSubrange(i ... i + 1)
            }
            let r = try Self.run(args + arguments)
            #expect(r.status != 0, "\(what): exit 0")
            #expect(r.stderr.contains(needle), "\(what): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: cli.path("out.mp4")), "\(what): output left behind")
            #expect(!cli.files.contains { $0.hasSuffix(".tmp") }, "\(what): temporary file left behind")
        }
    }
}
