import Checkpoints
import Foundation
import Testing
import TextTokenizers

/// Token ids through libsentencepiece with each pipeline's clean-up, against the SentencePiece Python
/// package on the same trained models (ftfy + html.unescape for Wan, lower/strip for LTX).
@Suite struct T5TokenizerTests {
    @Test(arguments: ["umt5", "t5"])
    func tokenIdsEqualSentencePieceOnThePromptList(model: String) throws {
        let tokenizer = try T5Tokenizer(weights: try TextFixtures.weights(model, precision: .q8))
        let expected = try TextFixtures.tensors("\(model)_tokens.safetensors")["input_ids"]!
        let prompts = try TextFixtures.prompts(model)
        #expect(expected.shape == [prompts.prompts.count, tokenizer.length])
        for (i, prompt) in prompts.prompts.enumerated() {
            #expect(tokenizer.clean(prompt) == prompts.cleaned[i], "clean-up of prompt \(i)")
            let tokens = try tokenizer.encode(prompt)
            let reference = expected.values[i * tokenizer.length ..< (i + 1) * tokenizer.length].map { Int32($0) }
            #expect(tokens.ids == reference, "\(model) prompt \(i): \(prompt.prefix(40))")
            #expect(tokens.mask == reference.map { $0 != tokenizer.padID ? 1 : 0 })
        }
    }

    @Test func longPromptIsTruncatedWithItsEOSKept() throws {
        for (model, length) in [("umt5", 512), ("t5", 128)] {
            let tokenizer = try T5Tokenizer(weights: try TextFixtures.weights(model, precision: .q8))
            #expect(tokenizer.length == length)
            let tokens = try tokenizer.encode(try TextFixtures.prompts(model).prompts.last!)
            #expect(tokens.count == length && tokens.ids.last == tokenizer.eosID)
            let empty = try tokenizer.encode("")
            #expect(empty.count == 1 && empty.ids[0] == tokenizer.eosID && empty.ids[1...].allSatisfy { $0 == tokenizer.padID })
        }
    }

    /// Special ids come from each model file: umT5 pad 0, EOS 1, <s> 2, unk 3; T5 pad 0, EOS 1, unk 2, no <s>.
    @Test func specialIdsComeFromTheModelFiles() throws {
        let umt5 = try T5Tokenizer(weights: try TextFixtures.weights("umt5", precision: .q8)).pieces
        #expect([umt5.padID, umt5.eosID, umt5.bosID, umt5.unkID] == [0, 1, 2, 3])
        let t5 = try T5Tokenizer(weights: try TextFixtures.weights("t5", precision: .q8)).pieces
        #expect([t5.padID, t5.eosID, t5.unkID, t5.bosID] == [0, 1, 2, -1])
    }

    @Test func wanCleanupFixesTextLikeFTFY() {
        let clean = PromptCleaning.wan
        #expect(clean.apply("caf\u{00C3}\u{00A9} na\u{00C3}\u{00AF}ve") == "café naïve")
        #expect(clean.apply("\u{FEFF}“a” ‘b’") == "\"a\" 'b'")
        #expect(clean.apply("&amp;amp; &lt;b&gt;") == "& <b>")
        #expect(clean.apply("一，二：三") == "一,二:三")
        #expect(PromptCleaning.ltx.apply("  A Cat  ") == "a cat")
    }

    @Test func convertWithoutTokenizerNamesTheFileToGive() throws {
        let output = TextFixtures.directory.appending(path: "no-tokenizer.vkq")
        #expect {
            _ = try Converter.convert(inputs: [TextFixtures.root.appending(path: "umt5_wan.pth").path], options: .init(output: output, recipe: Recipe()))
        } throws: { error in
            "\(error)".contains("spiece.model") && "\(error)".contains("umt5-xxl")
        }
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
