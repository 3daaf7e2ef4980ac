import ArgumentParser
import Checkpoints
import Foundation
import VKQ

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the family, config and tensor table of a .vkq or a checkpoint file.")

    @Argument(help: "A .vkq, .safetensors, .pth or .gguf file.")
    var file: String

    @Option(help: "Show only tensors whose name matches this regular expression.")
    var filter: String?

    @Flag(help: "Print one JSON object: family, component, config, converter, source, tensors.")
    var json = false

    func run() throws {
        let url = URL(fileURLWithPath: file)
        let isVKQ = (try? FileHandle(forReadingFrom: url).read(upToCount: 4)) == Data("VKQ1".utf8)
        if isVKQ { try inspectVKQ(VKQFile(url: url)) } else { try inspectCheckpoint(url) }
    }

    private func keep(_ name: String) -> Bool {
        filter.map { name.range(of: $0, options: .regularExpression) != nil } ?? true
    }

    private func inspectVKQ(_ vkq: VKQFile) throws {
        var header = vkq.header
        header.tensors = header.tensors.filter { keep($0.name) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(header), as: UTF8.self))
            return
        }
        print("\(file): .vkq v1, family \(header.family), component \(header.component)")
        print("converter: \(header.converter.version), recipe \(header.converter.recipe)")
        for source in header.source { print("source: \(source.name) (\(source.size) bytes, xxh3 \(source.xxh3))") }
        // A text encoder's tokenizer model (base64, megabytes) is shown by its size only.
        var shown = header.config
        if case .object(var fields) = shown, case .object(var tokenizer)? = fields["tokenizer"], let model = tokenizer["model"]?.stringValue {
            tokenizer["model"] = .string("<\(model.count / 4 * 3) bytes>")
            fields["tokenizer"] = .object(tokenizer)
            shown = .object(fields)
        }
        print("config: \(shown)")
        var bytes: [String: Int] = [:]
        for t in vkq.header.tensors { bytes[t.dtype, default: 0] += t.data.length + (t.scales?.length ?? 0) }
        print("bytes by dtype: " + bytes.sorted { $0.key < $1.key }.map { String(format: "%@ %.1f MB", $0.key, Double($0.value) / 1e6) }.joined(separator: ", "))
        if let q = header.converter.quantization {
            print(String(format: "q8 error (relative L2): max %.3e, mean %.3e over %d tensors; worst %@", q.maxRelativeL2, q.meanRelativeL2, q.tensors,
                         q.worst.joined(separator: "; ")))
        }
        for t in header.tensors {
            let dtype = t.dtype + (t.group.map { $0 == 0 ? "/row" : "/g\($0)" } ?? "")
            let error = t.quantizationError.map { String(format: "  err %.2e", $0) } ?? ""
            print(String(format: "  %-48@ %-8@ %-20@ %@%@", t.name, dtype, "\(t.shape)", t.encoding.rawValue, error))
        }
    }

    private func inspectCheckpoint(_ url: URL) throws {
        let set = try CheckpointSet.open([file])
        let infos = set.keys.compactMap { set.tensors[$0]?.info }.filter { keep($0.name) }
        let detected = (try? Families.detect(keys: set.keys, files: [url.lastPathComponent])) ?? []
        let components = detected.map { "\($0.component): \($0.spec.keyMapName), \($0.layout) layout" }
        if json {
            let object: JSONValue = .object([
                "components": .array(components.map { .string($0) }),
                "metadata": .object(set.readers.first?.metadata.mapValues { .string($0) } ?? [:]),
                "config": set.configs.first.map(\.json) ?? .null,
                "tensors": .array(infos.map { .object(["name": .string($0.name), "dtype": .string($0.dtype), "shape": .array($0.shape.map { .int($0) })]) }),
            ])
            print(object.description)
            return
        }
        print("\(file): \(infos.count) tensors; " + (components.isEmpty ? "model not recognised" : components.joined(separator: "; ")))
        for (url, config) in set.configs { print("config (\(url.lastPathComponent)): \(config)") }
        var bytes: [String: Int] = [:]
        for info in infos { bytes[info.dtype, default: 0] += Converter.sourceBytes(info) }
        print("bytes by dtype: " + bytes.sorted { $0.key < $1.key }.map { String(format: "%@ %.1f MB", $0.key, Double($0.value) / 1e6) }.joined(separator: ", "))
        for info in infos { print(String(format: "  %-56@ %-6@ %@", info.name, info.dtype, "\(info.shape)")) }
    }
}
