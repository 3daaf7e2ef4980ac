import ArgumentParser
import Checkpoints
import Foundation
import Models
import Tensors
import TextTokenizers
import VKQ

struct EncodeTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode-text",
        abstract: "Tokenize and encode a prompt (and a negative prompt) with a converted T5 / umT5 text encoder.",
        discussion: """
            Writes input_ids (int32 [1,L]), context_mask (f32 [1,L], 1 = token) and context (f32 [1,L,d_model], rows where
            the mask is 0 set to zero); with --negative-prompt also negative_input_ids, negative_context_mask and
            negative_context. L is the model's text length (umT5 for Wan: 512; T5 for LTX-Video: 128). `--negative-prompt
            default` uses the pipeline's default negative prompt (Wan2.1's or LTX-Video's).
            """)

    @Option(help: "The converted text encoder (.vkq from `vacekit convert WEIGHTS TOKENIZER -o TEXT.vkq`).")
    var model: String

    @Option(help: "The prompt.")
    var prompt: String

    @Option(help: "A negative prompt, or `default` for the pipeline's default one.")
    var negativePrompt: String?

    @Option(name: .shortAndLong, help: "Where to write the tensors (.safetensors).")
    var output: String

    @Option(help: "cpu, vulkan or vulkan:N.")
    var device: String?

    @Option(name: .customLong("weights"), help: "Block weights: resident (uploaded once) or streamed (one block at a time: low memory).")
    var residency: WeightResidency = .resident

    @Flag(help: "LTX-Video only: run the PixArt caption cleaner instead of lower-case + strip.")
    var cleanCaption = false

    func run() throws {
        let weights = try VKQWeights(url: URL(fileURLWithPath: model))
        guard weights.file.header.component == "text_encoder" else {
            throw DeviceError("\(model): a \(weights.family) \(weights.file.header.component); `encode-text` needs a text encoder (umt5-xxl or t5-v1.1-xxl)")
        }
        let tokenizer = try T5Tokenizer(weights: weights)
        if cleanCaption && tokenizer.cleaning != .ltx { throw ValidationError("--clean-caption is LTX-Video's option; \(weights.family) cleans prompts as Wan does") }
        // f32 activations: T5's feed-forward outputs overflow f16.
        let backend = try DeviceOption.backend(device, activations: "f32")
        let start = Date()
        let encoder = try T5Encoder(weights: weights, backend: backend, residency: residency)
        var prompts = [("", prompt)]
        if let negativePrompt {
            prompts.append(("negative_", negativePrompt == "default" ? DefaultNegativePrompt.for(tokenizer.cleaning) : negativePrompt))
        }
        var tensors: [SafetensorsWriter.Tensor] = []
        for (prefix, text) in prompts {
            let tokens = try tokenizer.encode(text, cleanCaption: cleanCaption)
            let context = try backend.floats(try encoder(ids: tokens.ids, mask: tokens.mask))
            let l = tokenizer.length
            tensors.append(.init(name: prefix + "input_ids", dtype: .i32, shape: [1, l], bytes: tokens.ids.withUnsafeBytes { Array($0) }))
            tensors.append(.init(name: prefix + "context_mask", shape: [1, l], floats: tokens.mask))
            tensors.append(.init(name: prefix + "context", shape: [1, l, encoder.config.dim], floats: context))
            printError("\(prefix.isEmpty ? "prompt" : "negative prompt"): \(tokens.count) tokens of \(l)")
        }
        try SafetensorsWriter(tensors: tensors).write(to: URL(fileURLWithPath: output))
        printError(String(format: "encode-text on %@ (%@ weights): %.2f s", backend.name, residency.rawValue, Date().timeIntervalSince(start)))
    }
}
