import ArgumentParser
import Checkpoints
import Foundation
import VKQ

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert Wan2.1 / Wan2.1-VACE / LTX-Video checkpoints and the T5 / umT5 text encoders into one .vkq file.",
        discussion: """
            Linear-layer matrices follow --precision; embeddings, patch embedding and head stay f16; biases, norms
            and modulation tables f32. Writes OUT.tmp and renames it to OUT only when complete and verified.
            """)

    @Argument(help: "Checkpoint files or folders: .safetensors, .safetensors.index.json, .pth, config.json, a diffusers folder; for a text encoder also its SentencePiece model (spiece.model, or the folder holding it).")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "The .vkq file to write.")
    var output: String

    @Option(help: "Precision of linear-layer matrices: f32, f16, bf16 or q8.")
    var precision: String = "q8"

    @Option(help: "q8 group size: 0 (one scale per row), 32, 64 or 128.")
    var group: Int = 0

    @Option(help: "Component of a multi-component input (transformer, vae).")
    var component: String?

    @Option(help: "Model family, when detection from the keys should be overridden (\(Families.supported.joined(separator: ", "))).")
    var family: String?

    @Option(help: "Regular expression over canonical tensor names to keep in f32 (repeatable).")
    var keep: [String] = []

    @Option(name: .customLong("zstd"), help: "Compress tensors with zstd at LEVEL (1…22); `--zstd` alone is level 3.")
    var zstd: Int32?

    @Flag(help: "Convert tensors holding NaN or Inf instead of stopping.")
    var allowNonfinite = false

    @Flag(name: .shortAndLong, help: "No progress output.")
    var quiet = false

    /// `--zstd` without a value means level 3; ArgumentParser options need a value, so rewrite it first.
    static func normalize(_ arguments: [String]) -> [String] {
        arguments.flatMap { arg -> [String] in
            if arg == "--zstd" { return ["--zstd", "3"] }
            if arg.hasPrefix("--zstd=") { return ["--zstd", String(arg.dropFirst(7))] }
            return [arg]
        }
    }

    func run() throws {
        guard let precision = Recipe.Precision(rawValue: precision) else {
            throw ValidationError("--precision \(precision): use f32, f16, bf16 or q8")
        }
        let recipe = try Recipe(precision: precision, group: group, keep: keep, zstdLevel: zstd)
        var options = Converter.Options(output: URL(fileURLWithPath: output), recipe: recipe, family: family, component: component)
        options.allowNonfinite = allowNonfinite
        let bar = ProgressLine(label: "convert", quiet: quiet)
        let report = try Converter.convert(inputs: inputs, options: options) { done, total, bytes, totalBytes, _ in
            bar.update(items: done, of: total, bytes: bytes, of: totalBytes)
        }
        for warning in report.warnings where !quiet { printError("note: \(warning)") }
        let header = report.header
        print("\(output): \(header.family) \(header.component), \(header.tensors.count) tensors, recipe \(header.converter.recipe)")
        print(String(format: "input %.1f MB → output %.1f MB (%.2f×) in %.1f s, %.0f MB/s", Double(report.inputBytes) / 1e6,
                     Double(report.outputBytes) / 1e6, Double(report.outputBytes) / Double(max(report.inputBytes, 1)), report.seconds,
                     Double(report.inputBytes) / 1e6 / max(report.seconds, 1e-9)))
        for (dtype, bytes) in report.bytesByDType.sorted(by: { $0.key < $1.key }) {
            let ratio = recipe.zstdLevel == nil ? "" : String(format: ", zstd %.3f of raw", Double(bytes.stored) / Double(max(bytes.raw, 1)))
            print(String(format: "  %-5@ %10.1f MB%@", dtype, Double(bytes.stored) / 1e6, ratio))
        }
        if let q = header.converter.quantization {
            print(String(format: "q8 relative L2 error over %d tensors: max %.3e, mean %.3e", q.tensors, q.maxRelativeL2, q.meanRelativeL2))
            print("  worst: " + q.worst.joined(separator: "; "))
            if !quiet {
                for record in header.tensors { if let e = record.quantizationError { print(String(format: "  %@ %.3e", record.name, e)) } }
            }
        }
    }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check every checksum of a .vkq file (exit 0 when all match).")

    @Argument(help: "The .vkq file.")
    var file: String

    func run() throws {
        let vkq = try VKQFile(url: URL(fileURLWithPath: file))
        try vkq.verify()
        print("\(file): OK (header and \(vkq.tensors.count) tensors)")
    }
}
