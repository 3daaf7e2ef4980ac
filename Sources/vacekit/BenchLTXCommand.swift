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

    @OptionGroup var options: ForwardBenchOptions

    @Option(parsing: .upToNextOption, help: "Latent frames, height and width (tokens = F · H · W).")
    var latent: [Int] = [3, 15, 26]

    @Option(help: "Text tokens (all real: the mask is all ones).")
    var textTokens = 128

    func run() throws {
        try options.check(latent: latent)
        let backend = try DeviceOption.backend(options.device, activations: "f32")
        let weights = try VKQWeights(url: URL(fileURLWithPath: options.model))
        guard LTXInputs.isLTX(family: weights.family) else { throw DeviceError("\(options.model): a \(weights.family); `bench ltx` runs LTX-Video / VACE-LTX transformers") }
        let (timing, contextBlocks) = try ModelBenchmarks.ltx(weights, backend: backend, residency: options.residency, latent: latent,
                                                              textTokens: textTokens, runs: options.runs)
        try options.report(weights, backend: backend, tokens: latent.reduce(1, *), textTokens: textTokens, timing: timing,
                           extra: ["context_blocks": contextBlocks, "first_call": options.runs == 0], deviceMemoryInLine: false)
    }
}
