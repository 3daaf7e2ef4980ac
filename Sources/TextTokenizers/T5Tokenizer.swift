import Foundation
import Tensors

/// The tokenizer of a converted T5 / umT5 text encoder: its SentencePiece model (carried in the .vkq
/// config), the prompt clean-up of the pipeline it belongs to, EOS appended, truncation and padding to
/// the model's text length (umT5 for Wan: 512; T5 for LTX-Video: 128), as transformers' tokenizer call
/// `(prompt, padding="max_length", max_length=L, truncation=True, add_special_tokens=True)` does in
/// Wan's HuggingfaceTokenizer (wan/modules/tokenizers.py) and LTX-Video's pipeline.
public struct T5Tokenizer: Sendable {
    public let pieces: SentencePiece
    /// Sequence length every prompt is padded or truncated to.
    public let length: Int
    public let cleaning: PromptCleaning
    public let eosID: Int32
    public let padID: Int32

    public struct Tokens: Sendable, Equatable {
        /// `[length]`: pieces, EOS, then padding.
        public var ids: [Int32]
        /// `[length]`: 1 for a token (EOS included), 0 for padding.
        public var mask: [Float]
        public var count: Int { mask.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } }
    }

    public init(pieces: SentencePiece, length: Int, cleaning: PromptCleaning) throws {
        guard length > 0 else { throw TokenizerError.badConfig("text length \(length)") }
        guard pieces.eosID >= 0 else { throw TokenizerError.badConfig("the SentencePiece model has no EOS piece") }
        self.pieces = pieces
        self.length = length
        self.cleaning = cleaning
        eosID = pieces.eosID
        padID = max(pieces.padID, 0)
    }

    /// The tokenizer of a converted text encoder (`config.tokenizer`, `text_len`, `prompt_clean`).
    public init(weights: any WeightProvider) throws {
        struct Config: Decodable {
            struct Tokenizer: Decodable { var format: String; var model: String }
            var tokenizer: Tokenizer?
            var text_len: Int
            var prompt_clean: String
        }
        let config = try weights.config(Config.self)
        guard let tokenizer = config.tokenizer else { throw TokenizerError.noTokenizer(family: weights.family) }
        guard tokenizer.format == "sentencepiece", let bytes = Data(base64Encoded: tokenizer.model) else {
            throw TokenizerError.badConfig("\(weights.family): tokenizer format '\(tokenizer.format)' (expected a base64 SentencePiece model)")
        }
        guard let cleaning = PromptCleaning(rawValue: config.prompt_clean) else {
            throw TokenizerError.badConfig("\(weights.family): prompt_clean '\(config.prompt_clean)'")
        }
        try self.init(pieces: try SentencePiece(model: bytes), length: config.text_len, cleaning: cleaning)
    }

    /// The prompt, cleaned as its pipeline does (`cleanCaption`: LTX's optional PixArt caption cleaner).
    public func clean(_ prompt: String, cleanCaption: Bool = false) -> String {
        cleaning.apply(prompt, cleanCaption: cleanCaption)
    }

    public func encode(_ prompt: String, cleanCaption: Bool = false) throws -> Tokens {
        var ids = try pieces.encode(clean(prompt, cleanCaption: cleanCaption))
        // Truncation keeps the EOS: L − 1 pieces, then EOS.
        if ids.count > length - 1 { ids.removeLast(ids.count - (length - 1)) }
        ids.append(eosID)
        let tokens = ids.count
        ids += [Int32](repeating: padID, count: length - tokens)
        return Tokens(ids: ids, mask: (0 ..< length).map { $0 < tokens ? 1 : 0 })
    }
}
