import ArgumentParser
import Checkpoints
import Foundation
import Models
import Tensors
import Validation
import VKQ

struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run one transformer call on named input tensors and write the output.",
        discussion: """
            Inputs (safetensors, f32/f16/bf16): latents [B,16,F,H,W]; timestep [B] (0…1000); context [B,L,text_dim]
            (zero-padded to the model's text length); for VACE models vace_context [B,96,F,H,W] and optionally
            vace_scale (one value, or one per VACE layer). Output: noise_pred [B,16,F,H,W].
            LTX-Video / VACE-LTX models: latents [B,128,F,H,W]; timestep [B] (0…1000); context [B,L,4096]; context_mask
            [B,L] (1 = real token); frame_rate (one value, default 25); for VACE-LTX vace_context [1 or B,384,F,H,W] and
            optionally vace_scale (one value); optionally stg_skip_layers (int32 layers whose self-attention is skipped
            for the last batch row, STG). Output: noise_pred [B,128,F,H,W].
            """)

    @Option(help: "The converted transformer (.vkq).")
    var model: String

    @Option(help: "Input tensors (.safetensors).")
    var inputs: String

    @Option(name: .shortAndLong, help: "Where to write noise_pred (.safetensors).")
    var output: String

    @Option(help: "cpu, vulkan or vulkan:N.")
    var device: String?

    @Option(name: .customLong("weights"), help: "Block weights: resident (uploaded once) or streamed (uploaded per block, released after it: low memory).")
    var residency: WeightResidency = .resident

    @Option(help: "Activation precision: f32 or f16 (f16 on Vulkan devices that support it).")
    var dtype: String = "f32"

    func run() throws {
        guard ["f32", "f16"].contains(dtype) else { throw ValidationError("--dtype \(dtype): use f32 or f16") }
        let backend = try DeviceOption.backend(device, activations: dtype)
        let weights = try VKQWeights(url: URL(fileURLWithPath: model))
        if LTXInputs.isLTX(family: weights.family) { return try runLTX(weights, backend: backend) }
        guard weights.family.hasPrefix("wan2.1") && weights.file.header.component == "transformer" else {
            throw DeviceError("\(model): a \(weights.family) \(weights.file.header.component); `forward` runs Wan2.1 and LTX-Video transformers")
        }
        let file = try SafetensorsFile(url: URL(fileURLWithPath: inputs))
        let known: Set = ["latents", "timestep", "context", "vace_context", "vace_scale"]
        if let unknown = file.names.first(where: { !known.contains($0) }) {
            throw DeviceError("\(inputs): unknown input '\(unknown)' (expected \(known.sorted().joined(separator: ", ")))")
        }
        func input(_ name: String) throws -> Tensor? {
            guard let entry = file.entry(name) else { return nil }
            return try backend.tensor(try file.floats(name), Shape(entry.shape))
        }
        func required(_ name: String) throws -> Tensor {
            guard let t = try input(name) else { throw DeviceError("\(inputs): missing input '\(name)'") }
            return t
        }
        let start = Date()
        let transformer = try WanTransformer(weights: weights, backend: backend, residency: residency)
        let loaded = Date()
        let timesteps = try file.floats("timestep").map(Double.init)
        let scales = file.entry("vace_scale") == nil ? [] : try file.floats("vace_scale")
        let result = try transformer(latents: try required("latents"), timesteps: timesteps, text: try required("context"),
                                     vaceContext: try input("vace_context"), vaceScales: scales)
        let values = try backend.floats(result)
        let done = Date()
        try SafetensorsWriter(tensors: [.init(name: "noise_pred", shape: result.shape.dims, floats: values)]).write(to: URL(fileURLWithPath: output))
        FileHandle.standardError.write(Data(String(format: "forward on %@: load %.2f s, run %.2f s\n", backend.name,
                                                   loaded.timeIntervalSince(start), done.timeIntervalSince(loaded)).utf8))
    }

    /// An LTX-Video / VACE-LTX call (inputs: `LTXInputs`).
    func runLTX(_ weights: VKQWeights, backend: any Backend) throws {
        let file = try SafetensorsFile(url: URL(fileURLWithPath: inputs))
        if let unknown = file.names.first(where: { !LTXInputs.names.contains($0) }) {
            throw DeviceError("\(inputs): unknown input '\(unknown)' (expected \(LTXInputs.names.sorted().joined(separator: ", ")))")
        }
        let start = Date()
        let transformer = try LTXTransformer(weights: weights, backend: backend, residency: residency)
        let loaded = Date()
        let result = try LTXInputs(file, path: inputs, on: backend).run(transformer)
        let values = try backend.floats(result)
        let done = Date()
        try SafetensorsWriter(tensors: [.init(name: "noise_pred", shape: result.shape.dims, floats: values)]).write(to: URL(fileURLWithPath: output))
        FileHandle.standardError.write(Data(String(format: "forward on %@: load %.2f s, run %.2f s\n", backend.name,
                                                   loaded.timeIntervalSince(start), done.timeIntervalSince(loaded)).utf8))
    }
}
