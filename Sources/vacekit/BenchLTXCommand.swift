import ArgumentParser
import Foundation
import Models
import Tensors
import Validation
import VKQ
import VulkanBackend

struct BenchLTXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ltx",
        abstract: "Time one LTX-Video / VACE-LTX transformer forward on random inputs (default: 1170 tokens = latent 128×3×15×26, 128 text tokens).")

    @Option(help: "The converted transformer (.vkq), e.g. from scripts/make_synthetic_ltx_checkpoint.py + vacekit convert.")
    var model: String

    @Option(parsing: .upToNextOption, help: "Latent frames, height and width (tokens = F · H · W).")
    var latent: [Int] = [3, 15, 26]

    @Option(help: "Text tokens (all real: the mask is all ones).")
    var textTokens = 128

    @Option(help: "Timed runs after one warm-up run (0: time the first call alone).")
    var runs = 1

    @Option(help: "cpu, vulkan or vulkan:N.")
    var device: String?

    @Option(name: .customLong("weights"), help: "Block weights: resident (uploaded once) or streamed (uploaded per block, released after it: low memory).")
    var residency: WeightResidency = .resident

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        guard latent.count == 3 else { throw ValidationError("--latent takes three values: frames height width") }
        guard runs >= 0 else { throw ValidationError("--runs must be 0 or more") }
        let backend = try DeviceOption.backend(device, activations: "f32")
        let weights = try VKQWeights(url: URL(fileURLWithPath: model))
        guard LTXInputs.isLTX(family: weights.family) else { throw DeviceError("\(model): a \(weights.family); `bench ltx` runs LTX-Video / VACE-LTX transformers") }
        let loadStart = Date()
        let transformer = try LTXTransformer(weights: weights, backend: backend, residency: residency)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let c = transformer.config
        var noise = NormalNoise(seed: 42)
        let videoShape = Shape([1, c.inChannels, latent[0], latent[1], latent[2]])
        let latents = try backend.tensor(noise.values(videoShape.count), videoShape)
        let text = try backend.tensor(noise.values(textTokens * c.captionChannels).map { $0 * 0.1 }, [1, textTokens, c.captionChannels])
        let mask = try backend.tensor(.init(repeating: 1, count: textTokens), [1, textTokens])
        let vaceShape = Shape([1, c.vaceChannels, latent[0], latent[1], latent[2]])
        let vace = c.isVACE ? try backend.tensor(noise.values(vaceShape.count), vaceShape) : nil
        var times: [Double] = []
        for run in 0 ... runs {
            let start = Date()
            let out = try transformer(latents: latents, timesteps: [500], context: text, contextMask: mask, vaceContext: vace)
            _ = try backend.floats(out)
            if run > 0 || runs == 0 { times.append(Date().timeIntervalSince(start)) }
            FileHandle.standardError.write(Data(String(format: "%@ run %d: %.2f s\n", run == 0 ? "warm-up" : "timed", run, Date().timeIntervalSince(start)).utf8))
            if runs == 0 { break }
        }
        let tokens = latent.reduce(1, *)
        let report: [String: Any] = [
            "model": weights.family, "recipe": weights.file.header.converter.recipe, "backend": backend.name, "tokens": tokens,
            "text_tokens": textTokens, "context_blocks": c.contextLayers.count, "load_seconds": loadSeconds, "seconds": times.min() ?? 0,
            "first_call": runs == 0, "peak_rss_bytes": peakRSS(), "weights": residency.rawValue,
            "device_memory_bytes": (backend as? VulkanBackend)?.deviceMemoryBytes ?? 0,
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "%@ (%@, %@ weights) on %@: %d tokens, forward %.2f s (%@), load %.2f s, peak RSS %.2f GB", weights.family,
                         weights.file.header.converter.recipe, residency.rawValue, backend.name, tokens, times.min() ?? 0,
                         runs == 0 ? "first call" : "best of \(runs)", loadSeconds, Double(peakRSS()) / 1e9))
        }
    }
}
