import Checkpoints
import Foundation
import Testing
import Tensors

/// `vacekit vae encode|decode` on the Wan VAE fixture: the outputs against diffusers, and every bad
/// input refused with its reason, exit ≠ 0 and no output file.
@Suite struct VAECommandTests {
    static func reference() throws -> SafetensorsFile {
        try SafetensorsFile(url: CLI.fixtures.appending(path: "reference/wan_vae.safetensors"))
    }

    @Test func encodeAndDecodeWriteTheReferenceTensors() throws {
        let cli = try CLI(), r = try Self.reference()
        let model = try cli.convert("wan_vae/official/Wan2.1_VAE.pth", to: "vae.vkq")
        let video = try cli.write("video.safetensors", [("video", r.entry("encode_input")!.shape, try r.floats("encode_input"))])
        let encoded = try cli.run(["vae", "encode", "--model", model, "--inputs", video, "--output", cli.path("latent.safetensors"), "--device", "cpu"])
        #expect(encoded.status == 0, "\(encoded.stderr)")
        let latent = try SafetensorsFile(url: URL(fileURLWithPath: cli.path("latent.safetensors")))
        #expect(latent.names == ["latent"])
        #expect(try ErrorMetric.compare(try latent.floats("latent"), try r.floats("latents_normalized"), what: "latent").relativeL2 <= 1e-5)

        let decoded = try cli.run(["vae", "decode", "--model", model, "--inputs", cli.path("latent.safetensors"),
                                   "--output", cli.path("video-out.safetensors"), "--device", "cpu"])
        #expect(decoded.status == 0, "\(decoded.stderr)")
        let out = try SafetensorsFile(url: URL(fileURLWithPath: cli.path("video-out.safetensors")))
        #expect(out.entry("video")?.shape == [1, 3, 9, 32, 48])
        #expect(try out.floats("video").allSatisfy { $0 >= -1 && $0 <= 1 })
    }

    @Test func badInputIsRefusedAndLeavesNoOutput() throws {
        let cli = try CLI()
        let model = try cli.convert("wan_vae/official/Wan2.1_VAE.pth", to: "vae.vkq")
        let transformer = try cli.convert("wan_vace/official/diffusion_pytorch_model.safetensors", to: "dit.vkq")
        func zeros(_ shape: [Int]) -> [Float] { [Float](repeating: 0, count: shape.reduce(1, *)) }
        let eightFrames = try cli.write("8.safetensors", [("video", [1, 3, 8, 32, 48], zeros([1, 3, 8, 32, 48]))])
        let oddSize = try cli.write("odd.safetensors", [("video", [1, 3, 5, 30, 48], zeros([1, 3, 5, 30, 48]))])
        let wrongName = try cli.write("name.safetensors", [("frames", [1, 3, 5, 32, 48], zeros([1, 3, 5, 32, 48]))])
        let latent15 = try cli.write("l15.safetensors", [("latent", [1, 15, 2, 4, 6], zeros([1, 15, 2, 4, 6]))])
        let latent = try cli.write("l16.safetensors", [("latent", [1, 16, 2, 4, 6], zeros([1, 16, 2, 4, 6]))])
        let cases: [([String], String)] = [
            (["encode", "--model", model, "--inputs", eightFrames], "4k+1"),
            (["encode", "--model", model, "--inputs", oddSize], "multiples of 8"),
            (["encode", "--model", model, "--inputs", wrongName], "no tensor 'video'"),
            (["encode", "--model", model, "--inputs", cli.path("missing.safetensors")], "missing.safetensors"),
            (["decode", "--model", model, "--inputs", latent15], "[B, 16, F, H, W]"),
            (["decode", "--model", transformer, "--inputs", latent], "not a VAE"),
            (["decode", "--model", model, "--inputs", latent, "--timestep", "0.05"], "--timestep"),
            (["decode", "--model", model, "--inputs", latent, "--decode-noise-scale", "0.025"], "--decode-noise-scale"),
            (["decode", "--model", model, "--inputs", latent, "--vae-tile", "12"], "--vae-tile"),
            (["decode", "--model", model, "--inputs", latent, "--vae-bands", "5"], "--vae-bands"),
            (["decode", "--model", model, "--inputs", latent, "--vae-bands", "0"], "--vae-bands"),
        ]
        let before = Set(cli.files)
        for (arguments, reason) in cases {
            let result = try cli.run(["vae"] + arguments + ["--output", cli.path("out.safetensors"), "--device", "cpu"])
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(reason), "\(arguments): \(result.stderr)")
        }
        #expect(Set(cli.files) == before, "no output (or temporary) file may be left")
    }
}
