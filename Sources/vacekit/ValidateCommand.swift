import ArgumentParser
import Checkpoints
import Foundation
import Models
import Runtime
import Tensors
import Validation
import VKQ

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Measure accuracy against a PyTorch reference, layer by layer (relative L2, max |Δ|, cosine).",
        discussion: """
            A dump of converters/reference/dump_reference.py holds the inputs, the final output (noise_pred, latent, video or
            context) and the tensor at each named point (point.NAME), for the Wan2.1 and LTX-Video / VACE-LTX transformers, the
            Wan2.1 and LTX-Video VAEs (one direction per dump) and the T5 / umT5 encoders. validate runs the inputs, taps the same points, and prints each point's error in
            execution order, marking the first point whose relative L2 grows more than 3× over the previous point while above
            the precision's noise floor (f32 1e-5, f16 1e-3, q8 1e-2). Exit 1 when the output exceeds --bound or any value is
            non-finite; shapes or point counts that differ are errors.

            Older single-output references (converters/reference/make_fixtures.py) hold noise_pred_<case> outputs; the VACE
            scales of a case come from a tensor named scale_<case> when present, else from the case name (scale_1 → 1,
            no_vace → 0). LTX-Video / VACE-LTX references hold the inputs of `forward` and noise_pred_<case>, with per-case
            vace_scale_<case> and stg_skip_layers_<case> (converters/reference/make_ltx_vace_fixtures.py writes one).
            """)

    @Option(help: "The converted model (.vkq): a transformer, VAE or text encoder.")
    var model: String

    @Option(help: "The reference dump (.safetensors).")
    var reference: String

    @Option(help: "cpu, vulkan or vulkan:N.")
    var device: String?

    @Option(help: "Activation precision: f32 or f16 (f16 on Vulkan devices that support it).")
    var dtype: String = "f32"

    @Option(name: .customLong("weights"), help: "Block weights: resident (uploaded once) or streamed (uploaded per block, released after it: low memory).")
    var residency: WeightResidency = .resident

    @Option(help: "Fail (exit 1) when the output's relative L2 exceeds this.")
    var bound: Double?

    @Flag(help: "Print the report as JSON: {\"points\": [{\"name\", \"rel_l2\", \"max_abs\", \"cosine\"}...], \"first_jump\", \"final_rel_l2\", \"pass\"}.")
    var json = false

    func run() throws {
        guard ["f32", "f16"].contains(dtype) else { throw ValidationError("--dtype \(dtype): use f32 or f16") }
        let backend = try DeviceOption.backend(device, activations: dtype)
        let weights = try VKQWeights(url: URL(fileURLWithPath: model))
        let dump = try ReferenceDump(url: URL(fileURLWithPath: reference))
        let header = weights.file.header
        if dump.file.names.contains(where: { $0.hasPrefix("noise_pred_") }) {
            return try runCases(weights: weights, dump: dump, backend: backend)
        }
        let target = try ValidationTargets.make(family: header.family, component: header.component, weights: weights,
                                                backend: backend, residency: residency)
        let precision = Self.coarsestPrecision(header.tensors.map(\.dtype))
        // The text encoders' q8 matrices meet 16-bit activations whatever the backend's mode (T5Encoder).
        let int8Activations = Q8Arithmetic.int8Activations(backend) && header.component != "text_encoder"
        let report = try LayerValidation.run(target, dump: dump, backend: backend,
                                             noiseFloor: LayerReport.noiseFloor(weights: precision, activations: dtype, int8Activations: int8Activations),
                                             bound: bound)
        if json {
            print(report.json())
        } else {
            print("\(header.family) \(header.component) (\(header.converter.recipe)) on \(backend.name) vs \(dump.name)")
            print(report.table())
        }
        if !report.pass {
            if json { printError(report.failures.joined(separator: "; ")) }
            throw ExitCode.failure
        }
    }

    /// q8 if any tensor is q8, else f16/bf16 if any is, else f32.
    static func coarsestPrecision(_ dtypes: [String]) -> String {
        for p in ["q8", "f16", "bf16"] where dtypes.contains(p) { return p }
        return "f32"
    }

    /// The single-output references: one Wan transformer call per noise_pred_<case>.
    func runCases(weights: VKQWeights, dump: ReferenceDump, backend: any Backend) throws {
        if LTXInputs.isLTX(family: weights.family) { return try runLTXCases(weights: weights, dump: dump, backend: backend) }
        guard weights.family.hasPrefix("wan2.1") && weights.file.header.component == "transformer" else {
            throw ValidateError("\(model): a \(weights.family) \(weights.file.header.component); \(dump.name) holds Wan2.1 transformer cases")
        }
        let transformer = try WanTransformer(weights: weights, backend: backend, residency: residency)
        let latents = try dump.tensor("latents", on: backend), text = try dump.tensor("context", on: backend)
        let vace = try dump.optionalTensor("vace_context", on: backend)
        let timesteps = try dump.floats("timestep").map(Double.init)
        let cases = dump.file.names.filter { $0.hasPrefix("noise_pred_") }.sorted()
        print("\(weights.family) (\(weights.file.header.converter.recipe)) on \(backend.name) vs \(dump.name)")
        var worst = 0.0
        for name in cases {
            let label = String(name.dropFirst("noise_pred_".count))
            if label.hasSuffix("unpadded") { print("  \(label): skipped (diffusers run without text padding; VaceKit pads like the original)"); continue }
            let scales: [Float]
            if dump.contains(label) { scales = try dump.floats(label) }                      // e.g. scale_list
            else if dump.contains("scale_\(label)") { scales = try dump.floats("scale_\(label)") }
            else if label == "no_vace" { scales = [0] }
            else if let value = Float(label.replacingOccurrences(of: "scale_", with: "")) { scales = [value] }
            else { print("  \(label): skipped (no tensor \(label) or scale_\(label) gives its VACE scales)"); continue }
            let output = try transformer(latents: latents, timesteps: timesteps, text: text, vaceContext: vace, vaceScales: scales)
            let error = try ErrorMetric.compare(try backend.floats(output), shape: output.shape, try dump.floats(name),
                                                shape: try dump.shape(name), what: name)
            worst = error.isFinite ? max(worst, error.relativeL2) : .infinity
            print("  " + label.padding(toLength: 12, withPad: " ", startingAt: 0) + " scales " + "\(scales)".padding(toLength: 12, withPad: " ", startingAt: 0)
                  + " \(error)")
        }
        if !worst.isFinite { throw ValidateError("a case's output is non-finite") }
        if let bound, worst > bound {
            throw ValidateError(String(format: "worst relative L2 %.3e exceeds --bound %.1e", worst, bound))
        }
    }

    /// The single-output LTX references: every noise_pred_<case>, with the case's vace_scale / stg_skip_layers.
    func runLTXCases(weights: VKQWeights, dump: ReferenceDump, backend: any Backend) throws {
        let transformer = try LTXTransformer(weights: weights, backend: backend, residency: residency)
        let cases = dump.file.names.filter { $0.hasPrefix("noise_pred_") }.sorted()
        print("\(weights.family) (\(weights.file.header.converter.recipe)) on \(backend.name) vs \(dump.name)")
        var worst = 0.0
        for name in cases {
            let label = String(name.dropFirst("noise_pred_".count))
            let inputs = try LTXInputs(dump.file, path: reference, on: backend, case: label)
            let output = try inputs.run(transformer)
            let error = try ErrorMetric.compare(try backend.floats(output), shape: output.shape, try dump.floats(name),
                                                shape: try dump.shape(name), what: name)
            worst = error.isFinite ? max(worst, error.relativeL2) : .infinity
            let stg = inputs.skip.map { "STG layers \($0.layers.sorted()) row \($0.rows.sorted())" } ?? "no STG"
            print("  " + label.padding(toLength: 18, withPad: " ", startingAt: 0) + String(format: " scale %.2f  ", inputs.vaceScale)
                  + stg.padding(toLength: 24, withPad: " ", startingAt: 0) + " \(error)")
        }
        if !worst.isFinite { throw ValidateError("a case's output is non-finite") }
        if let bound, worst > bound {
            throw ValidateError(String(format: "worst relative L2 %.3e exceeds --bound %.1e", worst, bound))
        }
    }
}
