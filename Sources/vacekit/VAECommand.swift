import ArgumentParser
import Checkpoints
import Foundation
import Models
import Tensors
import VKQ

struct VAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae",
        abstract: "Encode a video to latents or decode latents to a video with a converted VAE.",
        discussion: """
            encode reads `video` [B,3,F,H,W] in [-1,1] (Wan: F = 4k+1, H and W multiples of 8) and writes `latent`,
            the posterior mean normalised as the transformer consumes it. decode reads `latent` (normalised) and
            writes `video` (Wan: clamped to [-1,1]). Work is chunked in time, so memory is set by the frame size;
            --vae-tile also tiles each frame (for frames too large to decode at once; seams are blended); --vae-bands N
            (Wan) decodes each frame in N row bands that recompute the rows their convolutions reach, so the result is
            the whole frame's while the causal caches hold one band (at 480×832: 1.9 GB in f16 whole, about half in 2 bands).
            --timestep and --decode-noise-scale apply to timestep-conditioned decoders only.
            """,
        subcommands: [Encode.self, Decode.self])

    struct Common: ParsableArguments {
        @Option(help: "The converted VAE (.vkq).")
        var model: String

        @Option(help: "Input tensors (.safetensors).")
        var inputs: String

        @Option(name: .shortAndLong, help: "Where to write the result (.safetensors).")
        var output: String

        @Option(help: "cpu, vulkan or vulkan:N.")
        var device: String?

        @Option(help: "Activation precision: f32 or f16 (f16 on Vulkan devices that support it; on the CPU, which computes in f32, f16 keeps the causal caches in f16).")
        var dtype: String = "f32"

        func load() throws -> (any VideoAutoencoder, any Backend, SafetensorsFile) {
            guard ["f32", "f16"].contains(dtype) else { throw ValidationError("--dtype \(dtype): use f32 or f16") }
            let weights = try VKQWeights(url: URL(fileURLWithPath: model))
            guard weights.file.header.component == "vae" else {
                throw DeviceError("--model \(model): a \(weights.family) \(weights.file.header.component), not a VAE")
            }
            let file = try SafetensorsFile(url: URL(fileURLWithPath: inputs))
            let backend = try DeviceOption.backend(device, activations: dtype)
            return (try VideoAutoencoders.load(weights, on: backend), backend, file)
        }

        func input(_ name: String, _ file: SafetensorsFile, _ backend: any Backend) throws -> Tensor {
            guard let entry = file.entry(name) else {
                throw DeviceError("--inputs \(inputs): no tensor '\(name)' (it holds \(file.names.sorted().joined(separator: ", ")))")
            }
            return try backend.tensor(try file.floats(name), Shape(entry.shape))
        }

        func write(_ name: String, _ result: Tensor, _ backend: any Backend, started: Date, what: String) throws {
            let values = try backend.floats(result)
            let finite = values.allSatisfy(\.isFinite)
            guard finite else { throw DeviceError("\(what) produced non-finite values; nothing written") }
            try SafetensorsWriter(tensors: [.init(name: name, shape: result.shape.dims, floats: values)]).write(to: URL(fileURLWithPath: output))
            FileHandle.standardError.write(Data(String(format: "%@ on %@: %@ %@ in %.2f s\n", what, backend.name, name,
                                                       result.shape.description, Date().timeIntervalSince(started)).utf8))
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "video [B,3,F,H,W] → latent (normalised posterior mean).")
        @OptionGroup var common: Common

        func run() throws {
            let started = Date()
            let (vae, backend, file) = try common.load()
            let latent = try vae.encode(try common.input("video", file, backend))
            try common.write("latent", latent, backend, started: started, what: "vae encode")
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "latent (normalised) → video [B,3,F,H,W].")
        @OptionGroup var common: Common

        @Option(help: "decode_timestep of timestep-conditioned decoders (LTX-Video 0.9.1+).")
        var timestep: Float?

        @Option(name: .customLong("decode-noise-scale"), help: "decode_noise_scale of timestep-conditioned decoders: z·(1−s) + noise·s.")
        var decodeNoiseScale: Float?

        @Option(help: "Seed of the noise that is not given as an input.")
        var seed: UInt64 = 0

        @Option(name: .customLong("vae-tile"), help: "Decode frames in spatial tiles of SIZE pixels (default: whole frames).")
        var vaeTile: Int?

        @Option(name: .customLong("vae-tile-overlap"), help: "Pixels blended between neighbouring tiles.")
        var vaeTileOverlap: Int = 64

        @Option(name: .customLong("vae-bands"), help: "Wan: decode in N exact row bands (the whole frame's result; the causal caches of one band at a time).")
        var vaeBands: Int = 1

        func run() throws {
            let started = Date()
            if let vaeTile, vaeTile <= 0 { throw ValidationError("--vae-tile \(vaeTile): give a positive tile size in pixels") }
            if vaeBands < 1 { throw ValidationError("--vae-bands \(vaeBands): at least 1 (1: whole frames)") }
            let (vae, backend, file) = try common.load()
            // Named noise maps (decode_noise, decoder_noise.<path>) travel with the latent, for exact reproduction.
            var noise: [String: Tensor] = [:]
            for name in file.names where name == "decode_noise" || name.hasPrefix("decoder_noise.") {
                noise[name] = try common.input(name, file, backend)
            }
            let unknown = file.names.filter { $0 != "latent" && noise[$0] == nil }
            if !unknown.isEmpty {
                throw DeviceError("--inputs \(common.inputs): unknown tensors \(unknown.sorted().joined(separator: ", ")) (decode takes latent, decode_noise, decoder_noise.<path>)")
            }
            let options = VAEDecodeOptions(timestep: timestep, noiseScale: decodeNoiseScale, noise: noise, seed: seed,
                                           tile: vaeTile, tileOverlap: vaeTileOverlap, rowBands: vaeBands)
            let video = try vae.decode(try common.input("latent", file, backend), options: options)
            try common.write("video", video, backend, started: started, what: "vae decode")
        }
    }
}
