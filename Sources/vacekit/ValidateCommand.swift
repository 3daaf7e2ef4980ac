import ArgumentParser
import Checkpoints
import Foundation
import Models
import Tensors
import VKQ

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Measure accuracy against reference outputs (relative L2 and max |Δ|).",
        discussion: """
            The reference file holds the inputs (latents, timestep, context, vace_context) and one or more outputs named
            noise_pred_<case>; the VACE scales of a case come from a tensor named scale_<case> when present, else from the case
            name (scale_1 → 1, no_vace → 0). converters/reference/make_fixtures.py writes such files.
            LTX-Video / VACE-LTX models: the inputs of `forward` (latents, timestep, context, context_mask, frame_rate,
            vace_context) and outputs noise_pred_<case>, with per-case vace_scale_<case> and stg_skip_layers_<case>
            (converters/reference/make_ltx_vace_fixtures.py writes such files).
            """)

    @Option(help: "The converted Wan2.1(-VACE) or LTX-Video / VACE-LTX transformer (.vkq).")
    var model: String

    @Option(help: "Reference inputs and outputs (.safetensors).")
    var reference: String

    @Option(help: "cpu, vulkan or vulkan:N.")
    var device: String?

    @Option(name: .customLong("weights"), help: "Block weights: resident (uploaded once) or streamed (uploaded per block, released after it: low memory).")
    var residency: WeightResidency = .resident

    @Option(help: "Fail (exit 1) when any case's relative L2 error exceeds this.")
    var bound: Double?

    func run() throws {
        let backend = try DeviceOption.backend(device, activations: "f32")
        let weights = try VKQWeights(url: URL(fileURLWithPath: model))
        if LTXInputs.isLTX(family: weights.family) { return try validateLTX(weights, backend: backend) }
        let transformer = try WanTransformer(weights: weights, backend: backend, residency: residency)
        let file = try SafetensorsFile(url: URL(fileURLWithPath: reference))
        func tensor(_ name: String) throws -> Tensor {
            guard let entry = file.entry(name) else { throw DeviceError("\(reference): no tensor '\(name)'") }
            return try backend.tensor(try file.floats(name), Shape(entry.shape))
        }
        let latents = try tensor("latents"), text = try tensor("context")
        let vace = file.entry("vace_context") != nil ? try tensor("vace_context") : nil
        let timesteps = try file.floats("timestep").map(Double.init)
        let cases = file.names.filter { $0.hasPrefix("noise_pred_") }.sorted()
        guard !cases.isEmpty else { throw DeviceError("\(reference): no noise_pred_<case> outputs to compare with") }
        print("\(weights.family) (\(weights.file.header.converter.recipe)) on \(backend.name) vs \(URL(fileURLWithPath: reference).lastPathComponent)")
        var worst = 0.0
        for name in cases {
            let label = String(name.dropFirst("noise_pred_".count))
            if label.hasSuffix("unpadded") { print("  \(label): skipped (diffusers run without text padding; VaceKit pads like the original)"); continue }
            let scales: [Float]
            if file.entry(label) != nil { scales = try file.floats(label) }                      // e.g. scale_list
            else if file.entry("scale_\(label)") != nil { scales = try file.floats("scale_\(label)") }
            else if label == "no_vace" { scales = [0] }
            else if let value = Float(label.replacingOccurrences(of: "scale_", with: "")) { scales = [value] }
            else { print("  \(label): skipped (no tensor \(label) or scale_\(label) gives its VACE scales)"); continue }
            let expected = try file.floats(name)
            let actual = try backend.floats(try transformer(latents: latents, timesteps: timesteps, text: text, vaceContext: vace, vaceScales: scales))
            var diff = 0.0, norm = 0.0, maxAbs = 0.0
            for (a, e) in zip(actual, expected) {
                diff += Double(a - e) * Double(a - e)
                norm += Double(e) * Double(e)
                maxAbs = max(maxAbs, Double(abs(a - e)))
            }
            let relative = (diff / norm).squareRoot()
            worst = max(worst, relative)
            print("  " + label.padding(toLength: 12, withPad: " ", startingAt: 0) + " scales " + "\(scales)".padding(toLength: 12, withPad: " ", startingAt: 0)
                  + String(format: " relative L2 %.3e  max |Δ| %.3e", relative, maxAbs))
        }
        if let bound, worst > bound {
            throw DeviceError(String(format: "worst relative L2 %.3e exceeds --bound %.1e", worst, bound))
        }
    }

    /// Every noise_pred_<case> of an LTX reference file, with the case's vace_scale / stg_skip_layers.
    func validateLTX(_ weights: VKQWeights, backend: any Backend) throws {
        let transformer = try LTXTransformer(weights: weights, backend: backend, residency: residency)
        let file = try SafetensorsFile(url: URL(fileURLWithPath: reference))
        let cases = file.names.filter { $0.hasPrefix("noise_pred_") }.sorted()
        guard !cases.isEmpty else { throw DeviceError("\(reference): no noise_pred_<case> outputs to compare with") }
        print("\(weights.family) (\(weights.file.header.converter.recipe)) on \(backend.name) vs \(URL(fileURLWithPath: reference).lastPathComponent)")
        var worst = 0.0
        for name in cases {
            let label = String(name.dropFirst("noise_pred_".count))
            let inputs = try LTXInputs(file, path: reference, on: backend, case: label)
            let result = try inputs.run(transformer)
            let metric = try ErrorMetric.compare(try backend.floats(result), shape: result.shape, try file.floats(name),
                                                 shape: Shape(file.entry(name)!.shape), what: name)
            worst = max(worst, metric.isFinite ? metric.relativeL2 : .infinity)
            let stg = inputs.skip.map { "STG layers \($0.layers.sorted()) row \($0.rows.sorted())" } ?? "no STG"
            print("  " + label.padding(toLength: 18, withPad: " ", startingAt: 0) + String(format: " scale %.2f  ", inputs.vaceScale)
                  + stg.padding(toLength: 24, withPad: " ", startingAt: 0) + " \(metric)")
        }
        if let bound, !(worst <= bound) {
            throw DeviceError(String(format: "worst relative L2 %.3e exceeds --bound %.1e", worst, bound))
        }
    }
}
