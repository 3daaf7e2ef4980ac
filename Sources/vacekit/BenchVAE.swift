import ArgumentParser
import Benchmarks
import Foundation
import Models
import Tensors
import VKQ
import VulkanBackend

/// `vacekit bench vae`: one decode (and optionally one encode) of a seeded random latent at a given
/// video size, frames streamed out and dropped as a writer would, with time and peak RSS — the
/// VaceKit side of converters/reference/bench_vae.py.
struct BenchVAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae",
        abstract: "Time one VAE decode (and encode) of a random latent; peak RSS.")

    @Option(help: "The converted VAE (.vkq).")
    var model: String

    @Option(help: "Video frames (Wan: 4k+1).")
    var frames = 17

    @Option(help: "Video size WxH.")
    var size = "832x480"

    @Option(help: "cpu, vulkan or vulkan:N.")
    var device: String = "cpu"

    @Option(help: "Activation precision: f32 or f16 (on the CPU: the causal caches kept in f16).")
    var dtype = "f32"

    @Option(name: .customLong("vae-tile"), help: "Spatial tile size in pixels (default: whole frames).")
    var vaeTile: Int?

    @Option(name: .customLong("vae-bands"), help: "Wan: exact row bands (1: whole frames).")
    var vaeBands = 1

    @Flag(help: "Also time an encode of a random video of that size.")
    var encode = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Instead: time the decoder's 3×3×3 convolutions at 480×832 chunk shapes (input with its 2 cached frames).")
    var conv = false

    func runConv() throws {
        let backend = try DeviceOption.backend(device, activations: dtype)
        for row in try VAEBenchmark.conv(backend: backend) {
            print(String(format: #"{"impl": "vacekit", "op": "conv3d 3x3x3", "shape": "[1,%d,%d+2,%d,%d]", "seconds": %.4f, "gflops": %.1f}"#,
                         row.channels, row.frames, row.height, row.width, row.seconds, row.gflop / row.seconds))
        }
    }

    func run() throws {
        if conv { return try runConv() }
        let parts = size.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2 else { throw ValidationError("--size \(size): give WxH, e.g. 832x480") }
        let (width, height) = (parts[0], parts[1])
        let backend = try DeviceOption.backend(device, activations: dtype)
        let r = try VAEBenchmark.run(try VKQWeights(url: URL(fileURLWithPath: model)), backend: backend, frames: frames, width: width,
                                     height: height, tile: vaeTile, bands: vaeBands, encode: encode) { t, s in
            guard (frames - 1) % t == 0, width % s == 0, height % s == 0 else {
                throw ValidationError("--frames \(frames) --size \(size): this VAE takes \(t)k+1 frames and sides in multiples of \(s)")
            }
        }
        let (decodedFrames, decodeSeconds, decodePeak, encodeSeconds) = (r.decodedFrames, r.decodeSeconds, r.decodePeakRSS, r.encodeSeconds)
        let result: [String: Any] = [
            "impl": "vacekit", "device": backend.name, "dtype": dtype, "frames": frames, "width": width, "height": height,
            "tile": vaeTile ?? 0, "bands": vaeBands, "decoded_frames": decodedFrames, "load_seconds": r.loadSeconds, "decode_seconds": decodeSeconds,
            "decode_peak_rss_bytes": decodePeak, "encode_seconds": encodeSeconds ?? NSNull(), "peak_rss_bytes": r.peakRSS,
            // Vulkan: device memory the backend holds at the end (its pool keeps what it reserved: the peak).
            "device_memory_bytes": r.deviceMemory,
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "VAE decode on %@: %d frames %dx%d in %.1f s, peak RSS %.2f GB%@", backend.name, decodedFrames, width, height,
                         decodeSeconds, Double(decodePeak) / 1e9, encodeSeconds.map { String(format: "; encode %.1f s", $0) } ?? ""))
        }
    }
}
