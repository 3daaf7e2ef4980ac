import Foundation
import Models
import Tensors

extension ValidationTargets.Entry {
    /// Wan2.1(-VACE) transformer: inputs latents, timestep, context, vace_context, vace_scale (as
    /// `vacekit forward` takes them); output noise_pred.
    public static let wanTransformer = ValidationTargets.Entry(
        name: "Wan2.1 transformers",
        matches: { family, component in family.hasPrefix("wan2.1") && component == "transformer" },
        make: { weights, backend, residency in
            WanTransformerTarget(model: try WanTransformer(weights: weights, backend: backend, residency: residency), backend: backend)
        })
}

struct WanTransformerTarget: ValidationTarget {
    let model: WanTransformer
    let backend: any Backend
    func signature(of dump: ReferenceDump) -> ValidationSignature { .init(inputs: ["latents", "timestep", "context", "vace_context", "vace_scale"], output: "noise_pred") }

    func run(_ dump: ReferenceDump, tap: @escaping Tap) throws -> Tensor {
        let scales = dump.contains("vace_scale") ? try dump.floats("vace_scale") : []
        return try model(latents: try dump.tensor("latents", on: backend), timesteps: try dump.floats("timestep").map(Double.init),
                         text: try dump.tensor("context", on: backend), vaceContext: try dump.optionalTensor("vace_context", on: backend),
                         vaceScales: scales, tap: tap)
    }
}
