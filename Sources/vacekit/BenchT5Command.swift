import ArgumentParser
import Foundation
import Models
import Tensors
import TextTokenizers
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
        let loadStart = Date()
        let encoder = try T5Encoder(weights: weights, backend: backend, residency: residency)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        // Ids inside the tokenizer's range (the embedding may have more rows).
        let pieces = (try? T5Tokenizer(weights: weights).pieces.pieceCount) ?? encoder.config.vocab
        var generator = SplitMix64(seed: 42)
        let ids = (0 ..< tokens).map { _ in Int32(4 + Int(generator.next() % UInt64(max(pieces - 4, 1)))) }
        let mask = [Float](repeating: 1, count: tokens)
        var times: [Double] = []
        for run in 0 ... runs {
            let start = Date()
            _ = try backend.floats(try encoder(ids: ids, mask: mask))
            if run > 0 || runs == 0 { times.append(Date().timeIntervalSince(start)) }
            FileHandle.standardError.write(Data(String(format: "%@ run %d: %.2f s\n", run == 0 ? "warm-up" : "timed", run, Date().timeIntervalSince(start)).utf8))
        }
        let c = encoder.config
        let report: [String: Any] = [
            "model": weights.family, "recipe": weights.file.header.converter.recipe, "backend": backend.name, "tokens": tokens,
            "layers": c.numLayers, "load_seconds": loadSeconds, "seconds": times.min() ?? 0, "peak_rss_bytes": peakRSS(),
            "weights": residency.rawValue,
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "%@ (%@, %d layers, %@ weights) on %@: %d tokens, encode %.2f s (%@), load %.2f s, peak RSS %.2f GB", weights.family,
                         weights.file.header.converter.recipe, c.numLayers, residency.rawValue, backend.name, tokens, times.min() ?? 0,
                         runs == 0 ? "first call" : "best of \(runs)", loadSeconds, Double(peakRSS()) / 1e9))
        }
    }
}
