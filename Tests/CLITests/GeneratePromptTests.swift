import Checkpoints
import Foundation
import Testing
import Tensors

/// `generate --prompt` runs the umT5 encoder inside generate. It must give the video that the same
/// prompts give through `encode-text` and `--text-embeddings` (the encoder's padded output, rows past the
/// mask zero): the tokenizer, the negative-prompt default and the trimming all agree.
@Suite struct GeneratePromptTests {
    static let encoder = CLI.fixtures.deletingLastPathComponent().deletingLastPathComponent().appending(path: "models/demo/umt5-tiny-random.vkq").path

    func latents(_ cli: CLI, _ m: GenerateCommandTests.Models, text: [String], name: String) throws -> [Float] {
        let r = try GenerateCommandTests.run(["generate", "--model", m.dit, "--vae", m.vae, "--task", "t2v", "--size", "48x32", "--frames", "5",
                                              "--steps", "2", "--guidance", "4", "--device", "cpu", "--sampler", "euler", "--seed", "3",
                                              "--latents-out", cli.path(name), "--output", cli.path(name + ".mp4")] + text)
        #expect(r.status == 0, "\(r.stderr)")
        return try SafetensorsFile(url: URL(fileURLWithPath: cli.path(name))).floats("latents")
    }

    @Test func aPromptGivesTheVideoOfItsEncodedEmbeddings() throws {
        let cli = try CLI(), m = try GenerateCommandTests.models(cli)
        let prompt = "a red disc rolls across a green meadow"
        let encoded = try cli.run(["encode-text", "--model", Self.encoder, "--prompt", prompt, "--negative-prompt", "default",
                                   "--device", "cpu", "--output", cli.path("text.safetensors")])
        #expect(encoded.status == 0, "\(encoded.stderr)")
        let viaEmbeddings = try latents(cli, m, text: ["--text-embeddings", cli.path("text.safetensors")], name: "a.safetensors")
        let viaPrompt = try latents(cli, m, text: ["--prompt", prompt, "--text-encoder", Self.encoder], name: "b.safetensors")
        let error = try ErrorMetric.compare(viaPrompt, viaEmbeddings, what: "latents")
        #expect(error.within(1e-6), "\(error)")
        // The comparison can fail: another negative prompt moves the latents far beyond that bound.
        let otherNegative = try latents(cli, m, text: ["--prompt", prompt, "--text-encoder", Self.encoder, "--negative-prompt", "blurry"], name: "c.safetensors")
        let moved = try ErrorMetric.compare(otherNegative, viaEmbeddings, what: "latents")
        #expect(moved.relativeL2 > 1e-3, "\(moved)")
    }
}
