import ArgumentParser
import Benchmarks
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
        let (timing, contextBlocks) = try ModelBenchmarks.ltx(weights, backend: backend, residency: residency, latent: latent, textTokens: textTokens, runs: runs)
        let loadSeconds = timing.loadSeconds
        let tokens = latent.reduce(1, *)
        let report: [String: Any] = [
            "model": weights.family, "recipe": weights.file.header.converter.recipe, "backend": backend.name, "tokens": tokens,
            "text_tokens": textTokens, "context_blocks": contextBlocks, "load_seconds": loadSeconds, "seconds": timing.seconds,
            "first_call": runs == 0, "peak_rss_bytes": timing.peakRSS, "weights": residency.rawValue,
            "device_memory_bytes": timing.deviceMemory,
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "%@ (%@, %@ weights) on %@: %d tokens, forward %.2f s (%@), load %.2f s, peak RSS %.2f GB", weights.family,
                         weights.file.header.converter.recipe, residency.rawValue, backend.name, tokens, timing.seconds,
                         runs == 0 ? "first call" : "best of \(runs)", loadSeconds, Double(timing.peakRSS) / 1e9))
        }
    }
}
