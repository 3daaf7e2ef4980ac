import Dispatch
import Foundation
import Tensors
import VKQ

/// Converts checkpoint files into one .vkq file, streaming tensor by tensor.
///
/// 1. open the inputs and detect the family and layout from the keys;
/// 2. rename every key to its canonical name (an unknown key is an error naming it);
/// 3. resolve the config and check the canonical tensor list against it (missing tensors and wrong
///    shapes are errors naming them) — all before any tensor data is read;
/// 4. encode `parallelism` tensors at a time and append them in canonical order to `OUT.tmp`;
/// 5. write the header, verify every checksum, rename to `OUT`.
public struct Converter {
    public struct Options: Sendable {
        public var output: URL
        public var recipe: Recipe
        public var family: String?
        public var component: String?
        public var allowNonfinite = false
        /// Tensors encoded at once; memory is about this many times the largest tensor (as f32, ×2).
        public var parallelism = max(1, ProcessInfo.processInfo.activeProcessorCount)

        public init(output: URL, recipe: Recipe, family: String? = nil, component: String? = nil) {
            self.output = output
            self.recipe = recipe
            self.family = family
            self.component = component
        }
    }

    /// What `convert` did, for the report.
    public struct Report: Sendable {
        public var header: VKQHeader
        public var inputBytes: Int
        public var outputBytes: Int
        public var seconds: Double
        public var bytesByDType: [String: (raw: Int, stored: Int)]
        public var warnings: [String]
    }

    /// Called after each tensor: (tensors done, total, input bytes done, total input bytes, the record).
    public typealias Progress = (Int, Int, Int, Int, TensorRecord) -> Void

    public static func convert(inputs: [String], options: Options, progress: Progress? = nil) throws -> Report {
        let start = Date()
        let (weightInputs, tokenizer) = try TokenizerInput.split(inputs)
        let set = try CheckpointSet.open(weightInputs, component: options.component)
        if set.readers.count > 1 {
            // Each file on its own, so that a mix of models is reported as such (a shard alone may hold
            // too little to be recognised: those are skipped).
            let each = set.readers.compactMap { reader -> (String, String)? in
                guard let found = try? Families.detect(keys: reader.tensorInfos.map(\.name), files: [reader.url.lastPathComponent]) else { return nil }
                return (reader.url.lastPathComponent, found.map(\.label).joined(separator: " + "))
            }
            if Set(each.map(\.1)).count > 1 { throw ConvertError.mixedFamilies(each.map { "\($0.0): \($0.1)" }) }
        }
        if let duplicate = set.duplicates.first {
            throw ConvertError.duplicateTensor(duplicate.name, first: duplicate.first.path, second: duplicate.second.path)
        }
        let components = try Families.detect(keys: set.keys, files: set.files.map(\.lastPathComponent), override: options.family)
        let detected: DetectedComponent
        if let wanted = options.component {
            guard let match = components.first(where: { $0.component == wanted }) else {
                throw ConvertError.unknownComponent(wanted, found: components.map(\.component))
            }
            detected = match
        } else {
            guard components.count == 1 else { throw ConvertError.componentRequired(found: components.map(\.component)) }
            detected = components[0]
        }
        let spec = detected.spec
        let keyMap = try KeyMap.named(spec.keyMapName)

        // Canonical name → source tensor. Keys of other components in the same file are not ours.
        var canonical: [String: CheckpointSet.Located] = [:]
        var sourceName: [String: String] = [:]
        for key in set.keys {
            if let prefix = detected.keyPrefix, !key.hasPrefix(prefix) { continue }
            let stripped = detected.keyPrefix.map { String(key.dropFirst($0.count)) } ?? keyMap.stripPrefix(key)
            let name = try keyMap.canonicalName(stripped, layout: detected.layout)
            if keyMap.dropRule(name) != nil { continue }
            canonical[name] = set.tensors[key]
            sourceName[name] = key
        }
        let names = Set(canonical.keys)
        var metadata: [String: String] = [:]
        for reader in set.readers { metadata.merge(reader.metadata) { first, _ in first } }
        var config = try spec.resolveConfig(configs: set.configs.map(\.json), metadata: metadata,
                                            shapeOf: { canonical[$0]?.info.shape }, names: names)
        let family = spec.family(config: config)
        // Text encoders carry their tokenizer in the header's config, so that one file is enough.
        if keyMap.component == "text_encoder" {
            guard let tokenizer else { throw ConvertError.tokenizerMissing(family: family) }
            config = try tokenizer.adding(to: config)
        } else if let tokenizer {
            throw ConvertError.tokenizerUnexpected(tokenizer.url.path, family: family)
        }
        let expected = try spec.expectedTensors(config: config, keyMap: keyMap, names: names)
        let expectedNames = Set(expected.map(\.name))
        let unknown = canonical.keys.filter { !expectedNames.contains($0) }.map { sourceName[$0]! }.sorted()
        if !unknown.isEmpty { throw ConvertError.unknownTensors(unknown, family: family, layout: detected.layout) }
        let missing = expected.map(\.name).filter { canonical[$0] == nil }
        if !missing.isEmpty { throw ConvertError.missingTensors(missing, family: family) }
        for tensor in expected {
            let located = canonical[tensor.name]!
            if located.info.shape != tensor.shape {
                throw ConvertError.shapeMismatch(tensor.name, expected: tensor.shape, actual: located.info.shape,
                                                 source: "\(located.reader.url.lastPathComponent):\(located.info.name)")
            }
        }

        // The tokenizer travels base64 in the header: room for it (4/3 of its bytes, plus JSON escaping slack).
        let writer = try VKQWriter(url: options.output, expectedTensorNames: expected.map(\.name),
                                   extraHeaderBytes: tokenizer.map { $0.bytes.count / 3 * 4 + 4096 } ?? 0)
        let totalInput = expected.reduce(0) { $0 + Self.sourceBytes(canonical[$1.name]!.info) }
        var inputDone = 0
        var bytesByDType: [String: (raw: Int, stored: Int)] = [:]
        for batchStart in stride(from: 0, to: expected.count, by: options.parallelism) {
            let batch = Array(expected[batchStart ..< min(batchStart + options.parallelism, expected.count)])
            let sources = batch.map { canonical[$0.name]! }
            let results = ResultSlots<EncodedTensor>(count: batch.count)
            DispatchQueue.concurrentPerform(iterations: batch.count) { i in
                let tensor = batch[i]
                let located = sources[i]
                results.set(i, Result {
                    let dtype = options.recipe.dtype(for: tensor.name, role: tensor.role)
                    // A GGUF Q8_0 source kept as q8 group 32 is copied block for block: no second rounding.
                    if dtype == .q8(group: 32), let gguf = located.reader as? GGUFFile, tensor.shape.last.map({ $0 % 32 == 0 }) == true,
                       let blocks = try gguf.q8_0Blocks(located.info.name) {
                        gguf.releasePages(located.info.name)
                        return try EncodedTensor.q8(name: tensor.name, shape: tensor.shape, values: blocks.values, scales: blocks.scales, group: 32,
                                                    zstdLevel: options.recipe.zstdLevel, sourceName: located.info.name, sourceDType: located.info.dtype)
                    }
                    let values = try located.reader.floats(located.info.name)
                    located.reader.releasePages(located.info.name)
                    let bad = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
                    if bad > 0 && !options.allowNonfinite {
                        throw ConvertError.nonFinite(tensor.name, source: "\(located.reader.url.lastPathComponent):\(located.info.name)", count: bad)
                    }
                    return try EncodedTensor.encode(name: tensor.name, shape: tensor.shape, values: values, as: dtype,
                                                    zstdLevel: options.recipe.zstdLevel,
                                                    sourceName: located.info.name, sourceDType: located.info.dtype)
                })
            }
            for (i, result) in results.values.enumerated() {
                let encoded = try result.get()
                let record = try writer.append(encoded)
                let raw = encoded.rawDataLength + (encoded.scales.map { _ in Self.scaleBytes(encoded) } ?? 0)
                let stored = encoded.data.count + (encoded.scales?.count ?? 0)
                bytesByDType[record.dtype, default: (0, 0)].raw += raw
                bytesByDType[record.dtype, default: (0, 0)].stored += stored
                inputDone += Self.sourceBytes(canonical[batch[i].name]!.info)
                progress?(batchStart + i + 1, expected.count, inputDone, totalInput, record)
            }
        }

        let errors = writer.recordedQuantizationErrors
        let summary = errors.isEmpty ? nil : QuantizationSummary(
            tensors: errors.count, maxRelativeL2: errors.map(\.1).max()!, meanRelativeL2: errors.map(\.1).reduce(0, +) / Double(errors.count),
            worst: errors.sorted { $0.1 > $1.1 }.prefix(5).map { "\($0.0) \(String(format: "%.3e", $0.1))" })
        let sources = try (set.files + (tokenizer.map { [$0.url] } ?? [])).map { url in
            let file = try MappedFile(url: url)
            return SourceFile(name: url.lastPathComponent, size: file.size, xxh3: Checksum.hex(file.xxh3()))
        }
        let header = try writer.finish(family: family, component: keyMap.component, config: config, source: sources,
                                       converter: ConverterInfo(version: VaceKitVersion.string, recipe: options.recipe.description, quantization: summary))
        let outputBytes = (try? FileManager.default.attributesOfItem(atPath: options.output.path)[.size] as? Int) ?? 0
        var warnings: [String] = []
        if detected.layout == "diffusers" { warnings.append("read the diffusers layout; names were mapped to the official ones") }
        let lossy = Set(expected.compactMap { canonical[$0.name]?.info.dtype }.filter { GGMLType(name: $0)?.isLossy == true })
        if !lossy.isEmpty {
            warnings.append("the source holds \(lossy.sorted().joined(separator: ", ")) tensors: they were dequantized and re-quantized, so accuracy is bounded by the source's quantization")
        }
        return Report(header: header, inputBytes: sources.reduce(0) { $0 + $1.size }, outputBytes: outputBytes,
                      seconds: Date().timeIntervalSince(start), bytesByDType: bytesByDType, warnings: warnings)
    }

    /// Bytes a source tensor occupies in its file (for progress and throughput figures).
    public static func sourceBytes(_ info: CheckpointTensorInfo) -> Int {
        let count = info.shape.reduce(1, *)
        if let type = GGMLType(name: info.dtype), type.blockElements > 1 { return count / type.blockElements * type.blockBytes }
        return count * (SafetensorsDType(rawValue: info.dtype)?.byteSize ?? 4)
    }

    static func scaleBytes(_ t: EncodedTensor) -> Int {
        guard case .q8(let group) = t.dtype else { return 0 }
        let (rows, columns) = VKQLayout.matrixShape(t.shape)
        return rows * (group == 0 ? 1 : columns / group) * 2
    }
}

public enum VaceKitVersion {
    public static let string = "vacekit 0.1.0"
}

/// Results of a concurrentPerform, one slot per iteration.
final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<T, any Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ result: Result<T, any Error>) { lock.withLock { slots[i] = result } }
    var values: [Result<T, any Error>] { lock.withLock { slots.map { $0! } } }
}
