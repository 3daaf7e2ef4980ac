import Checkpoints
import Foundation
import Models
import Tensors

/// The named inputs of an LTX-Video / VACE-LTX transformer call (`vacekit forward`, `validate`, `bench ltx`):
/// latents [B,128,F,H,W]; timestep [B] (0…1000); context [B,L,caption_channels]; context_mask [B,L] (1 = real
/// token; all ones when absent); frame_rate (one value, default 25); for VACE-LTX vace_context
/// [1 or B, 2·C+128, F,H,W] and vace_scale (one value, default 1); stg_skip_layers (integer layer indices whose
/// self-attention is skipped for the LAST batch row, the perturbed row of the VACE pipeline's batch).
public struct LTXInputs {
    public static let names: Set = ["latents", "timestep", "context", "context_mask", "frame_rate", "vace_context", "vace_scale", "stg_skip_layers"]

    public var latents: Tensor
    public var timesteps: [Float]
    public var context: Tensor
    public var contextMask: Tensor
    public var frameRate: Double
    public var vaceContext: Tensor?
    public var vaceScale: Float
    public var skip: LTXTransformer.AttentionSkip?

    /// Reads the inputs from `file`; `suffix` picks per-case overrides (`vace_scale_<case>`, `stg_skip_layers_<case>`).
    public init(_ file: SafetensorsFile, path: String, on backend: any Backend, case label: String? = nil) throws {
        func tensor(_ name: String) throws -> Tensor? {
            guard let entry = file.entry(name) else { return nil }
            return try backend.tensor(try Self.numbers(file, name, path: path), Shape(entry.shape))
        }
        func required(_ name: String) throws -> Tensor {
            guard let t = try tensor(name) else { throw ValidateError("\(path): missing input '\(name)'") }
            return t
        }
        func named(_ name: String) -> String? {
            if let label, file.entry("\(name)_\(label)") != nil { return "\(name)_\(label)" }
            return file.entry(name) != nil ? name : nil
        }
        latents = try required("latents")
        guard latents.shape.rank == 5 else { throw ValidateError("\(path): latents \(latents.shape): expected [B, C, F, H, W]") }
        let batch = latents.shape[0]
        guard file.entry("timestep") != nil else { throw ValidateError("\(path): missing input 'timestep'") }
        timesteps = try Self.numbers(file, "timestep", path: path)
        guard timesteps.count == batch else { throw ValidateError("\(path): timestep has \(timesteps.count) values for a batch of \(batch)") }
        context = try required("context")
        guard context.shape.rank == 3 else { throw ValidateError("\(path): context \(context.shape): expected [B, L, caption_channels]") }
        if let entry = file.entry("context_mask") {
            let mask = try Self.numbers(file, "context_mask", path: path)
            guard entry.shape == [context.shape[0], context.shape[1]] else {
                throw ValidateError("\(path): context_mask \(entry.shape): expected [\(context.shape[0]), \(context.shape[1])] (one value per context token)")
            }
            guard mask.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw ValidateError("\(path): context_mask must hold 0 (padding) or 1 (real token)") }
            contextMask = try backend.tensor(mask, Shape(entry.shape))
        } else {
            contextMask = try backend.tensor(.init(repeating: 1, count: context.shape[0] * context.shape[1]), [context.shape[0], context.shape[1]])
        }
        frameRate = 25
        if file.entry("frame_rate") != nil {
            let values = try Self.numbers(file, "frame_rate", path: path)
            guard values.count == 1, values[0] > 0 else { throw ValidateError("\(path): frame_rate must be one positive value, got \(values)") }
            frameRate = Double(values[0])
        }
        vaceContext = try tensor("vace_context")
        vaceScale = 1
        if let name = named("vace_scale") {
            let values = try Self.numbers(file, name, path: path)
            guard values.count == 1 else { throw ValidateError("\(path): \(name) must be one value (the original's context_scale), got \(values.count)") }
            vaceScale = values[0]
        }
        if let name = named("stg_skip_layers") {
            let layers = try Self.numbers(file, name, path: path)
            guard layers.allSatisfy({ $0 >= 0 && $0 == $0.rounded() }) else { throw ValidateError("\(path): \(name) must hold layer indices (integers ≥ 0)") }
            skip = layers.isEmpty ? nil : .init(layers: Set(layers.map { Int($0) }), rows: [batch - 1])
        }
    }

    public func run(_ model: LTXTransformer, tap: Tap? = nil) throws -> Tensor {
        try model(latents: latents, timesteps: timesteps, context: context, contextMask: contextMask, frameRate: frameRate,
                  vaceContext: vaceContext, vaceScale: vaceScale, skip: skip, tap: tap)
    }

    /// Values of a float, integer or bool tensor as Float.
    public static func numbers(_ file: SafetensorsFile, _ name: String, path: String) throws -> [Float] {
        guard let entry = file.entry(name) else { throw ValidateError("\(path): missing input '\(name)'") }
        let data = try file.data(name)
        switch entry.dtype {
        case .i32: return data.withMemoryRebound(to: Int32.self) { $0.map { Float(Int32(littleEndian: $0)) } }
        case .i64: return data.withMemoryRebound(to: Int64.self) { $0.map { Float(Int64(littleEndian: $0)) } }
        case .u8, .bool: return data.map { Float($0) }
        default: return try file.floats(name)
        }
    }

    /// True for the converted LTX-Video and VACE-LTX transformers.
    public static func isLTX(family: String) -> Bool { family == "ltx-video-0.9" || family == "vace-ltx-video-0.9" }
}
