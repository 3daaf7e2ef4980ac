import Foundation
import Models
import Pipeline
import Tensors
import TextTokenizers
import VKQ

/// `--prompt` for Wan2.1: the converted umT5-XXL tokenizer and encoder behind the Pipeline's `TextEncoding`.
/// As the original `wan/modules/t5.py` `T5EncoderModel.__call__`: the prompt is cleaned, padded to the
/// encoder's text length (512) and encoded with its mask; the hidden states are trimmed to the real tokens
/// (EOS included), and the transformer pads them back with zeros.
final class UMT5PromptEncoder: TextEncoding {
    let tokenizer: T5Tokenizer
    let encoder: T5Encoder
    let backend: any Backend

    /// Loads `path`, checked to be the umT5 encoder of a Wan2.1 transformer whose text input is `textDim` wide.
    init(path: String, textDim: Int, backend: any Backend, residency: WeightResidency) throws {
        let weights = try VKQWeights(url: URL(fileURLWithPath: path))
        guard weights.file.header.component == "text_encoder", weights.family == "umt5-xxl" else {
            throw GenerateError("--text-encoder \(path): a \(weights.family) \(weights.file.header.component); Wan2.1 needs its umT5-XXL text encoder (umt5-xxl)")
        }
        tokenizer = try T5Tokenizer(weights: weights)
        encoder = try T5Encoder(weights: weights, backend: backend, residency: residency)
        guard encoder.config.dim == textDim else {
            throw GenerateError("--text-encoder \(path): its hidden states are \(encoder.config.dim) wide, but --model takes text \(textDim) wide: they do not belong together")
        }
        self.backend = backend
    }

    func encode(prompt: String) throws -> HostTensor {
        let tokens = try tokenizer.encode(prompt)
        let hidden = try backend.floats(try encoder(ids: tokens.ids, mask: tokens.mask))  // [1, 512, dim]
        let dim = encoder.config.dim
        return HostTensor(Array(hidden[0 ..< tokens.count * dim]), [1, tokens.count, dim])
    }
}
