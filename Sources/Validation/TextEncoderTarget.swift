import Foundation
import Models
import Tensors

extension ValidationTargets.Entry {
    /// umT5-XXL (Wan2.1) and T5-v1.1-XXL (LTX-Video) encoders: inputs input_ids [B, L] and attention_mask [B, L]
    /// (1 = token; all ones when absent), output context [B, L, dim] with the padded rows zero; points blocks.{i}.
    public static let textEncoder = ValidationTargets.Entry(
        name: "the T5 / umT5 text encoders",
        matches: { family, component in ["umt5-xxl", "t5-v1.1-xxl"].contains(family) && component == "text_encoder" },
        make: { weights, backend, residency in TextEncoderTarget(model: try T5Encoder(weights: weights, backend: backend, residency: residency)) })
}

struct TextEncoderTarget: ValidationTarget {
    let model: T5Encoder

    func signature(of dump: ReferenceDump) -> ValidationSignature { .init(inputs: ["input_ids", "attention_mask"], output: "context") }

    func run(_ dump: ReferenceDump, tap: @escaping Tap) throws -> Tensor {
        let shape = try dump.shape("input_ids")
        guard shape.rank == 2 else { throw ValidateError("\(dump.name): input_ids \(shape): expected [B, L]") }
        let values = try dump.floats("input_ids")
        guard values.allSatisfy({ $0 >= 0 && $0 == $0.rounded() && $0 < 2_147_483_648 }) else {
            throw ValidateError("\(dump.name): input_ids must hold token ids (integers ≥ 0)")
        }
        var mask = [Float](repeating: 1, count: values.count)
        if dump.contains("attention_mask") {
            guard try dump.shape("attention_mask") == shape else {
                throw ValidateError("\(dump.name): attention_mask \(try dump.shape("attention_mask")): expected \(shape) (one value per token)")
            }
            mask = try dump.floats("attention_mask")
        }
        return try model(ids: values.map { Int32($0) }, mask: mask, batch: shape[0], tap: tap)
    }
}
