import ArgumentParser
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

    @Option(help: "Activation precision: f32 or f16.")
    var dtype = "f32"

    @Option(name: .customLong("vae-tile"), help: "Spatial tile size in pixels (default: whole frames).")
    var vaeTile: Int?

    @Flag(help: "Also time an encode of a random video of that size.")
    var encode = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Instead: time the decoder's 3×3×3 convolutions at 480×832 chunk shapes (input with its 2 cached frames).")
    var conv = false

    /// (channels, new frames, height, width) of one decoder chunk: middle, 1/4 and 1/2 resolution.
    static let convShapes = [(384, 1, 60, 104), (192, 4, 120, 208), (96, 4, 240, 416)]

    func runConv() throws {
        let backend = try DeviceOption.backend(device, activations: dtype)
        var noise = NormalNoise(seed: 7)
        for (c, t, h, w) in Self.convShapes {
            let x = try backend.tensor(noise.values(c * (t + 2) * h * w), [1, c, t + 2, h, w])
            let weight = try backend.tensor(noise.values(c * c * 27).map { $0 * 0.02 }, [c, c, 3, 3, 3])
            let options = Conv3DOptions(padding: (1, 1))
            // Reading back one output channel waits for the device and costs a fraction of copying
            // the whole output (which PyTorch's side does not do either).
            func convolve() throws { _ = try backend.floats(try backend.slice(try backend.conv3d(x, weight, bias: nil, options), axis: 1, 0 ..< 1)) }
            try convolve()
            var best = Double.infinity
            for _ in 0 ..< 5 {
                let start = Date()
                try convolve()
                best = min(best, Date().timeIntervalSince(start))
            }
            let gflop = 2.0 * Double(c * c * 27 * t * h * w) / 1e9
            print(String(format: #"{"impl": "vacekit", "op": "conv3d 3x3x3", "shape": "[1,%d,%d+2,%d,%d]", "seconds": %.4f, "gflops": %.1f}"#,
                         c, t, h, w, best, gflop / best))
        }
    }

    func run() throws {
        if conv { return try runConv() }
        let parts = size.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2 else { throw ValidationError("--size \(size): give WxH, e.g. 832x480") }
        let (width, height) = (parts[0], parts[1])
        let backend = try DeviceOption.backend(device, activations: dtype)
        let started = Date()
        let vae = try VideoAutoencoders.load(try VKQWeights(url: URL(fileURLWithPath: model)), on: backend)
        let loadSeconds = Date().timeIntervalSince(started)
        let (t, s) = (vae.temporalFactor, vae.spatialFactor)
        guard (frames - 1) % t == 0, width % s == 0, height % s == 0 else {
            throw ValidationError("--frames \(frames) --size \(size): this VAE takes \(t)k+1 frames and sides in multiples of \(s)")
        }
        var noise = NormalNoise(seed: 11)
        let latentShape: Shape = [1, vae.latentChannels, (frames - 1) / t + 1, height / s, width / s]
        let latent = try backend.tensor(noise.values(latentShape.count), latentShape)

        var decodedFrames = 0
        let decodeStart = Date()
        try vae.decode(latent, options: VAEDecodeOptions(tile: vaeTile)) { chunk in
            _ = try backend.floats(chunk)  // what a writer does with each chunk
            decodedFrames += chunk.shape[2]
        }
        let decodeSeconds = Date().timeIntervalSince(decodeStart)
        let decodePeak = peakRSS()

        var encodeSeconds: Double?
        if encode {
            let video = try backend.tensor(noise.values(3 * frames * height * width).map { max(-1, min(1, $0 * 0.5)) }, [1, 3, frames, height, width])
            let encodeStart = Date()
            _ = try backend.floats(try vae.encode(video))
            encodeSeconds = Date().timeIntervalSince(encodeStart)
        }
        let result: [String: Any] = [
            "impl": "vacekit", "device": backend.name, "dtype": dtype, "frames": frames, "width": width, "height": height,
            "tile": vaeTile ?? 0, "decoded_frames": decodedFrames, "load_seconds": loadSeconds, "decode_seconds": decodeSeconds,
            "decode_peak_rss_bytes": decodePeak, "encode_seconds": encodeSeconds ?? NSNull(), "peak_rss_bytes": peakRSS(),
            // Vulkan: device memory the backend holds at the end (its pool keeps what it reserved: the peak).
            "device_memory_bytes": (backend as? VulkanBackend)?.deviceMemoryBytes ?? 0,
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "VAE decode on %@: %d frames %dx%d in %.1f s, peak RSS %.2f GB%@", backend.name, decodedFrames, width, height,
                         decodeSeconds, Double(decodePeak) / 1e9, encodeSeconds.map { String(format: "; encode %.1f s", $0) } ?? ""))
        }
    }
}
