import ArgumentParser
import Benchmarks
import Foundation
import Models
import Tensors
import VKQ

struct BenchT5Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "t5",
        abstract: "Time one T5 / umT5 text-encoder call on random ids (default: 512 tokens), with the peak RSS.")

    @Option(help: "The converted text encoder (.vkq), e.g. from scripts/make_synthetic_umt5.py + vacekit convert.")
    var model: String

    @Option(help: "Tokens in the prompt (all real: no padding).")
    var tokens = 512

    @Option(help: "Timed runs after one warm-up run (0: time the first call alone).")
    var runs = 1

    @Option(help: "cpu, vulkan or vulkan:N.")
    var device: String = "cpu"

    @Option(name: .customLong("weights"), help: "Block weights: resident (uploaded once) or streamed (one block at a time).")
    var residency: WeightResidency = .resident

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        guard tokens > 0, runs >= 0 else { throw ValidationError("--tokens must be positive and --runs 0 or more") }
        let backend = try DeviceOption.backend(device, activations: "f32")
        let weights = try VKQWeights(url: URL(fileURLWithPath: model))
        let (timing, layers) = try ModelBenchmarks.t5(weights, backend: backend, residency: residency, tokens: tokens, runs: runs)
        let report: [String: Any] = [
            "model": weights.family, "recipe": weights.file.header.converter.recipe, "backend": backend.name, "tokens": tokens,
            "layers": layers, "load_seconds": timing.loadSeconds, "seconds": timing.seconds, "peak_rss_bytes": timing.peakRSS,
            "weights": residency.rawValue,
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "%@ (%@, %d layers, %@ weights) on %@: %d tokens, encode %.2f s (%@), load %.2f s, peak RSS %.2f GB", weights.family,
                         weights.file.header.converter.recipe, layers, residency.rawValue, backend.name, tokens, timing.seconds,
                         runs == 0 ? "first call" : "best of \(runs)", timing.loadSeconds, Double(timing.peakRSS) / 1e9))
        }
    }
}
