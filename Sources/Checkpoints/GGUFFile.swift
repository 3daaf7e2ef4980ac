import Foundation
import VKQ

/// One tensor of a GGUF file.
public struct GGUFTensorEntry: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// PyTorch order, outermost first: GGUF's ne[] reversed, or ComfyUI-GGUF's
    /// `comfy.gguf.orig_shape.<name>` when present (it flattens 5-D convolutions, which ggml cannot hold).
    public let shape: [Int]
    /// The shape as stored (reversed ne[]); its last dimension is a whole number of blocks.
    public let storedShape: [Int]
    /// Absolute byte range in the file.
    public let range: Range<Int>

    public var elementCount: Int { storedShape.reduce(1, *) }
}

/// A GGUF file (v2/v3, as written by llama.cpp / gguf-py / ComfyUI-GGUF), memory-mapped.
///
/// Layout: magic `GGUF`, u32 version, u64 tensor count, u64 key/value count, the key/values
/// (string key, u32 type, value), the tensor infos (string name, u32 n_dims, u64 ne[n_dims] innermost
/// first, u32 ggml type, u64 offset), padding to `general.alignment` (default 32), then the data;
/// tensor offsets are relative to that aligned data start. The whole header is validated when the file
/// opens: counts, types, block-multiple rows, alignment, offsets inside the file and no overlap.
public final class GGUFFile: @unchecked Sendable {
    public let url: URL
    public let version: Int
    /// Metadata in file order, typed.
    public let values: [(key: String, value: GGUFValue)]
    /// Metadata rendered as text (long arrays summarised).
    public let metadata: [String: String]
    public let alignment: Int
    /// Tensors in file order.
    public let entries: [GGUFTensorEntry]
    private let file: MappedFile
    private let valueIndex: [String: Int]
    private let index: [String: Int]

    /// More tensors or keys than this is a corrupt count, not a model (the biggest LLMs have ~10⁴ tensors).
    public static let maxCount = 1 << 20

    public init(url: URL) throws {
        self.url = url
        let file = try MappedFile(url: url)
        self.file = file
        var cursor = GGUFCursor(bytes: file.bytes, url: url)
        guard file.size >= 4, file.bytes[0 ..< 4].elementsEqual("GGUF".utf8) else {
            throw GGUFError.notGGUF(url, "it does not start with the magic 'GGUF'")
        }
        cursor.skip(to: 4)
        let rawVersion = try cursor.u32("version")
        guard rawVersion == 2 || rawVersion == 3 else {
            if rawVersion.byteSwapped == 2 || rawVersion.byteSwapped == 3 {
                throw GGUFError.notGGUF(url, "it is a big-endian GGUF; only little-endian files are supported")
            }
            throw GGUFError.unsupportedVersion(url, rawVersion)
        }
        version = Int(rawVersion)
        let tensorCount = try cursor.count("tensor count", minimumBytes: 8 + 4 + 8 + 4 + 8)
        let valueCount = try cursor.count("key/value count", minimumBytes: 8 + 4 + 1)
        guard tensorCount <= Self.maxCount, valueCount <= Self.maxCount else {
            throw GGUFError.malformed(url, "\(tensorCount) tensors / \(valueCount) keys is implausibly many")
        }

        var values: [(key: String, value: GGUFValue)] = []
        var valueIndex: [String: Int] = [:]
        for _ in 0 ..< valueCount {
            let key = try cursor.string("metadata key")
            let value = try cursor.value(cursor.valueType(key), key: key)
            guard valueIndex.updateValue(values.count, forKey: key) == nil else { throw GGUFError.malformed(url, "metadata key '\(key)' appears twice") }
            values.append((key, value))
        }
        self.values = values
        self.valueIndex = valueIndex
        metadata = Dictionary(uniqueKeysWithValues: values.map { ($0.key, $0.value.text) })

        var alignment = 32
        if let raw = valueIndex["general.alignment"].map({ values[$0].value }) {
            guard case .uint32(let a) = raw, a > 0, a & (a - 1) == 0 else {
                throw GGUFError.malformed(url, "general.alignment is \(raw.text) (\(raw)); expected a power of two as uint32")
            }
            alignment = Int(a)
        }
        self.alignment = alignment

        var raws: [(name: String, ne: [Int], typeID: UInt32, offset: UInt64)] = []
        for _ in 0 ..< tensorCount {
            let name = try cursor.string("tensor name")
            let rank = try cursor.u32("rank of '\(name)'")
            // ggml holds at most 4 dimensions (GGML_MAX_DIMS); more is corruption.
            guard (1 ... 4).contains(rank) else { throw GGUFError.badTensor(url, name, "rank \(rank) is outside 1…4") }
            var ne = [Int]()
            for _ in 0 ..< rank {
                let dim = try cursor.u64("dimension of '\(name)'")
                guard dim <= UInt64(Int32.max) * 64 else { throw GGUFError.badTensor(url, name, "dimension \(dim) is implausibly large") }
                ne.append(Int(dim))
            }
            raws.append((name, ne, try cursor.u32("type of '\(name)'"), try cursor.u64("offset of '\(name)'")))
        }
        let dataStart = (cursor.position + alignment - 1) / alignment * alignment
        var entries = try raws.map { raw in
            try Self.validate(raw, dataStart: dataStart, alignment: alignment, fileSize: file.size, values: values, valueIndex: valueIndex, url: url)
        }
        guard Set(entries.map(\.name)).count == entries.count else {
            let duplicate = Dictionary(grouping: entries, by: \.name).first { $0.value.count > 1 }!.key
            throw GGUFError.badTensor(url, duplicate, "the name appears twice")
        }
        let fileOrder = entries
        entries.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        // Sorted by start: an overlap can only be with the previous non-empty entry.
        var previous: GGUFTensorEntry?
        for entry in entries where !entry.range.isEmpty {
            if let previous, entry.range.lowerBound < previous.range.upperBound { throw GGUFError.overlap(url, previous.name, entry.name) }
            previous = entry
        }
        self.entries = fileOrder
        index = Dictionary(uniqueKeysWithValues: fileOrder.enumerated().map { ($1.name, $0) })
    }

    private static func validate(
        _ raw: (name: String, ne: [Int], typeID: UInt32, offset: UInt64), dataStart: Int, alignment: Int,
        fileSize: Int, values: [(key: String, value: GGUFValue)], valueIndex: [String: Int], url: URL
    ) throws -> GGUFTensorEntry {
        let name = raw.name
        guard let type = GGMLType(rawValue: raw.typeID) else { throw GGUFError.unsupportedType(url, name, raw.typeID) }
        guard raw.ne[0] % type.blockElements == 0 else {
            throw GGUFError.badTensor(url, name, "innermost dimension \(raw.ne[0]) is not a multiple of the \(type.name) block of \(type.blockElements)")
        }
        var count = 1
        for dim in raw.ne {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= Int.max / 8 else { throw GGUFError.badTensor(url, name, "shape \(Array(raw.ne.reversed())) overflows") }
            count = product
        }
        let byteCount = count / type.blockElements * type.blockBytes
        guard raw.offset % UInt64(alignment) == 0 else {
            throw GGUFError.badTensor(url, name, "offset \(raw.offset) is not a multiple of the alignment \(alignment)")
        }
        guard raw.offset <= UInt64(fileSize), dataStart + Int(raw.offset) + byteCount <= fileSize else {
            throw GGUFError.outOfRange(url, name, end: dataStart &+ Int(clamping: raw.offset) &+ byteCount, fileSize: fileSize)
        }
        let start = dataStart + Int(raw.offset)
        let stored = Array(raw.ne.reversed())
        var shape = stored
        if let position = valueIndex["comfy.gguf.orig_shape." + name] {
            let original = values[position].value
            guard let dims = original.arrayValue?.compactMap(\.intValue), dims.count == original.arrayValue?.count,
                  dims.allSatisfy({ $0 >= 0 }), dims.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) == count else {
                throw GGUFError.badTensor(url, name, "comfy.gguf.orig_shape \(original.text) does not hold the \(count) elements of the stored shape \(stored)")
            }
            shape = dims
        }
        return GGUFTensorEntry(name: name, type: type, shape: shape, storedShape: stored, range: start ..< start + byteCount)
    }

    public var names: [String] { entries.map(\.name) }

    public func entry(_ name: String) -> GGUFTensorEntry? { index[name].map { entries[$0] } }

    /// A metadata value by key.
    public func value(_ key: String) -> GGUFValue? { valueIndex[key].map { values[$0].value } }

    /// A tensor's raw bytes in place in the memory map (valid while `self` lives).
    public func data(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let entry = entry(name) else { throw GGUFError.missingTensor(url, name) }
        return file.slice(entry.range)
    }

    /// A tensor's values as f32, dequantized like ggml's `dequantize_row_*`.
    public func floats(_ name: String) throws -> [Float] {
        guard let entry = entry(name) else { throw GGUFError.missingTensor(url, name) }
        let bytes = file.slice(entry.range)
        if let dtype = entry.type.floatDType {
            return try FloatDecoding.decode(bytes, dtype: dtype, tensor: name, file: url)
        }
        return GGUFDequantize.dequantize(entry.type, bytes, count: entry.elementCount)
    }

    /// A Q8_0 tensor's int8 values (element order) and its f16 scales, one per 32 consecutive
    /// elements, so a converter can re-encode it without a lossy round trip. Nil for other types.
    public func q8_0Blocks(_ name: String) throws -> (values: [Int8], scales: [Float16])? {
        guard let entry = entry(name) else { throw GGUFError.missingTensor(url, name) }
        guard entry.type == .q8_0 else { return nil }
        let bytes = file.slice(entry.range)
        let blocks = entry.elementCount / 32
        var values = [Int8](repeating: 0, count: blocks * 32)
        var scales = [Float16](repeating: 0, count: blocks)
        values.withUnsafeMutableBytes { out in
            for b in 0 ..< blocks {
                let block = b * GGMLType.q8_0.blockBytes
                scales[b] = Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: block, as: UInt16.self)))
                out.baseAddress!.advanced(by: b * 32).copyMemory(from: bytes.baseAddress!.advanced(by: block + 2), byteCount: 32)
            }
        }
        return (values, scales)
    }

    /// Whether a source type bounds the accuracy of anything converted from it (see `GGMLType.isLossy`).
    public static func isLossy(_ type: GGMLType) -> Bool { type.isLossy }
}

extension GGUFFile: CheckpointReader {
    public func releasePages(_ name: String) {
        if let entry = entry(name) { file.dropPages(entry.range) }
    }

    public var tensorInfos: [CheckpointTensorInfo] {
        entries.map { CheckpointTensorInfo(name: $0.name, dtype: $0.type.name, shape: $0.shape) }
    }
}
