import Foundation
import VKQ

/// The files of one conversion, opened: every tensor by its key, the config JSON files found, and the
/// file list for the header's `source`.
public struct CheckpointSet {
    public struct Located: Sendable {
        public var info: CheckpointTensorInfo
        public var reader: any CheckpointReader
    }

    public var tensors: [String: Located] = [:]
    /// Keys in the order the files list them (deterministic output order for unknown-key errors).
    public var keys: [String] = []
    /// Parsed `config.json` files (official or diffusers), by path.
    public var configs: [(url: URL, json: JSONValue)] = []
    public var files: [URL] = []
    /// Every reader opened, in input order.
    public var readers: [any CheckpointReader] = []
    /// Keys found in more than one file (reported after the family check, which explains most of them).
    public var duplicates: [(name: String, first: URL, second: URL)] = []

    /// Opens `paths`: single or sharded safetensors (`*.safetensors.index.json`), diffusers folders,
    /// `config.json` files, and (through `readerFactories`) further formats such as .pth and GGUF.
    /// A `config.json` next to a given weight file is picked up too. `component` chooses a subfolder
    /// of a diffusers pipeline folder (`transformer`, `vae`).
    public static func open(_ paths: [String], component: String? = nil) throws -> CheckpointSet {
        var set = CheckpointSet()
        var seen = Set<String>()
        for path in paths {
            // Duplicates are found through the link targets, but files are read where they were given: a
            // Hugging Face cache links snapshots/<rev>/model.safetensors to blobs/<hash>, with config.json and
            // the shards beside the link, not beside the blob.
            let url = URL(fileURLWithPath: path).standardizedFileURL
            guard seen.insert(url.resolvingSymlinksInPath().path).inserted else { throw ConvertError.inputTwice(path) }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { throw ConvertError.inputMissing(path) }
            if isDirectory.boolValue {
                try set.addDirectory(url, component: component)
            } else {
                try set.addFile(url)
            }
        }
        return set
    }

    private mutating func addDirectory(_ dir: URL, component: String?) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        let componentDirs = names.filter { ["transformer", "vae", "text_encoder"].contains($0) }
        if !componentDirs.isEmpty && !names.contains(where: { $0.hasSuffix(".safetensors") }) {
            guard let component else { throw ConvertError.componentRequired(found: componentDirs) }
            guard componentDirs.contains(component) else { throw ConvertError.unknownComponent(component, found: componentDirs) }
            return try addDirectory(dir.appending(path: component), component: nil)
        }
        if let index = names.first(where: { $0.hasSuffix(".safetensors.index.json") }) {
            try addFile(dir.appending(path: index))
        } else {
            for name in names where name.hasSuffix(".safetensors") || Self.readerFactories.contains(where: { name.hasSuffix($0.suffix) }) {
                try addFile(dir.appending(path: name))
            }
        }
        if names.contains("config.json") { try addConfig(dir.appending(path: "config.json")) }
        guard !files.isEmpty else { throw ConvertError.unsupportedInput(dir.path) }
    }

    private mutating func addFile(_ url: URL) throws {
        let name = url.lastPathComponent
        if name.hasSuffix(".safetensors.index.json") {
            let index: JSONValue
            do { index = try JSONValue.parse(Data(contentsOf: url)) } catch {
                throw ConvertError.badConfig("\(url.path) is not a valid safetensors index (\(error))")
            }
            guard let map = index["weight_map"]?.objectValue else { throw ConvertError.badConfig("\(url.path): no weight_map") }
            let shards = Set(map.values.compactMap(\.stringValue)).sorted()
            for shard in shards { try addReader(SafetensorsFile(url: url.deletingLastPathComponent().appending(path: shard))) }
            // The index must describe exactly what the shards hold.
            for (key, shard) in map where tensors[key] == nil {
                throw ConvertError.missingTensors([key + " (listed in \(name) for \(shard.stringValue ?? "?"))"], family: "the index")
            }
        } else if name.hasSuffix(".safetensors") {
            try addReader(SafetensorsFile(url: url))
        } else if name.hasSuffix(".json") {
            try addConfig(url)
            return
        } else if let factory = Self.readerFactories.first(where: { name.hasSuffix($0.suffix) }) {
            try addReader(factory.open(url))
        } else {
            throw ConvertError.unsupportedInput(url.path)
        }
        let sibling = url.deletingLastPathComponent().appending(path: "config.json")
        if FileManager.default.fileExists(atPath: sibling.path) { try addConfig(sibling) }
    }

    private mutating func addConfig(_ url: URL) throws {
        guard !configs.contains(where: { $0.url == url }) else { return }
        do {
            configs.append((url, try JSONValue.parse(Data(contentsOf: url))))
        } catch {
            throw ConvertError.badConfig("\(url.path) is not valid JSON (\(error))")
        }
    }

    private mutating func addReader(_ reader: any CheckpointReader) throws {
        files.append(reader.url)
        readers.append(reader)
        for info in reader.tensorInfos {
            if let existing = tensors[info.name] {
                duplicates.append((info.name, existing.reader.url, reader.url))
                continue
            }
            tensors[info.name] = Located(info: info, reader: reader)
            keys.append(info.name)
        }
    }

    /// Formats beyond safetensors, by file suffix.
    static let readerFactories: [(suffix: String, open: @Sendable (URL) throws -> any CheckpointReader)] = [
        (".pth", { try PTHFile(url: $0) }), (".pt", { try PTHFile(url: $0) }), (".ckpt", { try PTHFile(url: $0) }),
        (".gguf", { try GGUFFile(url: $0) }),
    ]
}
