import Foundation
import Models
import Tensors

extension ValidationTargets.Entry {
    /// LTX-Video 0.9 and VACE-LTX-Video-0.9 transformers: the inputs of `vacekit forward` (`LTXInputs`: latents,
    /// timestep, context, context_mask, frame_rate, vace_context, vace_scale, stg_skip_layers); output noise_pred.
    public static let ltxTransformer = ValidationTargets.Entry(
        name: "LTX-Video / VACE-LTX transformers",
        matches: { family, component in LTXInputs.isLTX(family: family) && component == "transformer" },
        make: { weights, backend, residency in
            LTXTransformerTarget(model: try LTXTransformer(weights: weights, backend: backend, residency: residency), backend: backend)
        })
}

struct LTXTransformerTarget: ValidationTarget {
    let model: LTXTransformer
    let backend: any Backend
    func signature(of dump: ReferenceDump) -> ValidationSignature { .init(inputs: LTXInputs.names, output: "noise_pred") }

    func run(_ dump: ReferenceDump, tap: @escaping Tap) throws -> Tensor {
        try LTXInputs(dump.file, path: dump.name, on: backend).run(model, tap: tap)
    }
}
