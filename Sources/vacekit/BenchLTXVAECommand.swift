import ArgumentParser
import Benchmarks
import Foundation
import Models
import Tensors
import VKQ
import VulkanBackend

/// `vacekit bench ltx-vae`: one LTX-Video VAE decode of a random latent (scripts/bench-ltx-vae).
struct BenchLTXVAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ltx-vae",
        abstract: "Time one LTX-Video VAE decode of a random latent, streamed in time (default: 2 latent frames of 16×24 = 9 frames of 512×768).")

    @Option(help: "The converted LTX-Video VAE (.vkq).")
    var model: String

    @Option(parsing: .upToNextOption, help: "Latent frames, height and width (video: 8(F−1)+1 frames of 32H × 32W).")
    var latent: [Int] = [2, 16, 24]

    @Option(help: "Latent frames per decoder chunk (0: the whole latent at once).")
    var chunk = 1

    @Option(help: "Timed runs after one warm-up run (0: time the first call alone).")
    var runs = 0

    @Option(help: "cpu, vulkan or vulkan:N.")
    var device: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        guard latent.count == 3 else { throw ValidationError("--latent takes three values: frames height width") }
        guard runs >= 0, chunk >= 0 else { throw ValidationError("--runs and --chunk must be 0 or more") }
        let backend = try DeviceOption.backend(device, activations: "f32")
        let weights = try VKQWeights(url: URL(fileURLWithPath: model))
        let (timing, output) = try ModelBenchmarks.ltxVAEDecode(weights, backend: backend, latent: latent, chunk: chunk == 0 ? nil : chunk, runs: runs)
        let report: [String: Any] = [
            "model": weights.family, "recipe": weights.file.header.converter.recipe, "backend": backend.name, "latent": latent,
            "output": output, "chunk_latent_frames": chunk, "seconds": timing.seconds, "peak_rss_bytes": timing.peakRSS,
            "device_memory_bytes": timing.deviceMemory,
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "%@ (%@) on %@: latent %@ → video %@, decode %.2f s (%@), chunk %d, peak RSS %.2f GB", weights.family,
                         weights.file.header.converter.recipe, backend.name, "\(latent)", "\(output)", timing.seconds,
                         runs == 0 ? "first call" : "best of \(runs)", chunk, Double(timing.peakRSS) / 1e9))
        }
    }
}
