import Foundation
import VKQ

/// One tensor of a `.pth` checkpoint: a strided view into an archive member holding its storage.
public struct PTHTensorEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Element strides, as torch reports them.
    public let strides: [Int]
    /// Element offset of the view's first element in its storage.
    public let storageOffset: Int
    /// The archive member `<root>/data/<key>`; several tensors may share one.
    public let storageEntry: String

    public var elementCount: Int { shape.reduce(1, *) }

    /// Row-major with no gaps: the bytes can be read as one slice. Size-1 dimensions may carry any stride.
    public var isContiguous: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            if stride != expected { return false }
            expected *= size
        }
        return true
    }
}

/// A PyTorch checkpoint written by `torch.save` (PyTorch ≥ 1.6: a ZIP of stored members), memory-mapped.
///
/// Layout (spec §2.2): `<root>/data.pkl` is a pickle of the state dict whose tensors point, through
/// persistent ids, at `<root>/data/<key>` members of raw little-endian storage bytes. The root folder's
/// name varies, so it is found from where `data.pkl` is. The pickle is read by `PickleMachine`, which
/// runs no code. Every tensor is checked against its storage when the file opens; `floats` then reads
/// only the tensor's own bytes, honouring strides for views such as a saved transpose.
public final class PTHFile: @unchecked Sendable {
    public let url: URL
    /// Scalars stored beside the tensors (`epoch`, `config.lr`, …) as text; usually empty.
    public let metadata: [String: String]
    /// Tensors in pickle order.
    public let entries: [PTHTensorEntry]
    private let archive: ZipArchive
    private let index: [String: Int]

    public init(url: URL) throws {
        self.url = url
        let file = try MappedFile(url: url)
        try Self.checkSignature(file.bytes, url: url)
        let archive = try ZipArchive(file: file)
        self.archive = archive
        let pickleEntry = try Self.findPickle(archive, url: url)
        let root = String(pickleEntry.name.dropLast("/data.pkl".count))
        if let order = archive.entry(named: root + "/byteorder"),
           String(decoding: try archive.data(order), as: UTF8.self).hasPrefix("big") {
            throw PTHError.bigEndian(url)
        }
        let object = try PickleMachine.load(archive.data(pickleEntry), url: url)
        let flat = PTHStateDict.flatten(object)
        guard !flat.tensors.isEmpty else { throw PTHError.noTensors(url, found: Self.describe(object)) }
        entries = try flat.tensors.map { try Self.validate($0.name, $0.tensor, root: root, archive: archive, url: url) }
        metadata = flat.scalars
        index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    public var names: [String] { entries.map(\.name) }

    public func entry(_ name: String) -> PTHTensorEntry? { index[name].map { entries[$0] } }

    /// A contiguous tensor's raw little-endian bytes in place in the memory map (valid while `self`
    /// lives); nil for a strided view, whose elements are not one slice (use `floats`).
    public func data(_ name: String) throws -> UnsafeRawBufferPointer? {
        guard let entry = entry(name) else { throw PTHError.missingTensor(url, name) }
        guard entry.isContiguous else { return nil }
        return try slice(entry, from: entry.storageOffset, count: entry.elementCount)
    }

    /// A tensor's values as f32 in row-major order of its shape (f32, f16, bf16 and f64 storages).
    public func floats(_ name: String) throws -> [Float] {
        guard let entry = entry(name) else { throw PTHError.missingTensor(url, name) }
        if entry.isContiguous {
            return try FloatDecoding.decode(slice(entry, from: entry.storageOffset, count: entry.elementCount), dtype: entry.dtype, tensor: name, file: url)
        }
        let gathered = try PTHStridedGather.gather(entry, storage: storage(of: entry))
        return try gathered.withUnsafeBytes { try FloatDecoding.decode($0, dtype: entry.dtype, tensor: name, file: url) }
    }

    /// The storage member's bytes; its presence, method and size were checked when the file opened.
    private func storage(of entry: PTHTensorEntry) throws -> UnsafeRawBufferPointer {
        guard let member = archive.entry(named: entry.storageEntry) else { throw PTHError.missingStorage(url, entry.name, entry: entry.storageEntry) }
        return try archive.data(member)
    }

    private func slice(_ entry: PTHTensorEntry, from element: Int, count: Int) throws -> UnsafeRawBufferPointer {
        let storage = try storage(of: entry)
        let size = entry.dtype.byteSize
        return UnsafeRawBufferPointer(rebasing: storage[element * size ..< (element + count) * size])
    }

    // MARK: Opening

    /// A ZIP starts with a local header ("PK\3\4"); a pre-1.6 torch.save starts with a pickle (0x80).
    private static func checkSignature(_ bytes: UnsafeRawBufferPointer, url: URL) throws {
        if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 3, bytes[3] == 4 { return }
        if bytes.count >= 2, bytes[0] == 0x80, bytes[1] <= 5 { throw PTHError.legacyFormat(url) }
        throw PTHError.notCheckpoint(url, "it does not start with a ZIP signature (is it a safetensors or GGUF file with a .pth name?)")
    }

    /// `<root>/data.pkl`, the shallowest if a repacked archive nests several.
    private static func findPickle(_ archive: ZipArchive, url: URL) throws -> ZipEntry {
        let candidates = archive.entries.filter { $0.name.hasSuffix("/data.pkl") || $0.name == "data.pkl" }
        guard let best = candidates.min(by: { $0.name.split(separator: "/").count < $1.name.split(separator: "/").count }) else {
            let sample = archive.entries.prefix(5).map(\.name).joined(separator: ", ")
            throw PTHError.notCheckpoint(url, "no <root>/data.pkl among its \(archive.entries.count) members (\(sample)…)")
        }
        guard best.name != "data.pkl" else { throw PTHError.notCheckpoint(url, "data.pkl is not inside a root folder as torch.save writes it") }
        return best
    }

    /// Shape, strides and offset must stay inside the storage, and the storage inside its member.
    private static func validate(_ name: String, _ tensor: PickleTensor, root: String, archive: ZipArchive, url: URL) throws -> PTHTensorEntry {
        let storage = tensor.storage
        let member = root + "/data/" + storage.key
        guard let entry = archive.entry(named: member) else { throw PTHError.missingStorage(url, name, entry: member) }
        _ = try archive.data(entry)  // a compressed storage is an error naming the member
        let size = storage.dtype.byteSize
        guard storage.count.multipliedReportingOverflow(by: size).partialValue <= entry.uncompressedSize,
              storage.count <= Int.max / size else {
            throw PTHError.badTensor(url, name, "storage '\(member)' should hold \(storage.count) \(storage.dtype.rawValue) elements but has only \(entry.uncompressedSize) bytes (truncated?)")
        }
        guard tensor.shape.count == tensor.strides.count else {
            throw PTHError.badTensor(url, name, "shape \(tensor.shape) and stride \(tensor.strides) differ in rank")
        }
        guard tensor.shape.allSatisfy({ $0 >= 0 }), tensor.strides.allSatisfy({ $0 >= 0 }), tensor.offset >= 0 else {
            throw PTHError.badTensor(url, name, "shape \(tensor.shape), stride \(tensor.strides) or offset \(tensor.offset) is negative")
        }
        // The farthest element reached is offset + Σ (size − 1)·stride; it must exist in the storage.
        var count = 1, last = tensor.offset, overflow = false
        for (dim, stride) in zip(tensor.shape, tensor.strides) {
            var o1 = false, o2 = false, o3 = false
            (count, o1) = count.multipliedReportingOverflow(by: dim)
            let reach: Int
            (reach, o2) = max(dim - 1, 0).multipliedReportingOverflow(by: stride)
            (last, o3) = last.addingReportingOverflow(reach)
            overflow = overflow || o1 || o2 || o3
        }
        guard !overflow, count == 0 || last < storage.count else {
            throw PTHError.badTensor(url, name, "view (offset \(tensor.offset), shape \(tensor.shape), stride \(tensor.strides)) reaches past the \(storage.count) elements of storage '\(member)'")
        }
        return PTHTensorEntry(
            name: name, dtype: storage.dtype, shape: tensor.shape, strides: tensor.strides,
            storageOffset: tensor.offset, storageEntry: member)
    }

    private static func describe(_ object: PickleValue) -> String {
        if case .dict(let dict) = object {
            let keys = dict.keys.prefix(8).compactMap(\.keyText).map { "'\($0)'" }.joined(separator: ", ")
            return "a dict with keys \(keys.isEmpty ? "none" : keys)"
        }
        return "a \(object.kind)"
    }
}

extension PTHFile: CheckpointReader {
    /// Releases the pages of the tensor's whole storage: views sharing it stay correct (the pages
    /// fault back in), they only cost a re-read from the page cache.
    public func releasePages(_ name: String) {
        guard let entry = entry(name), let member = archive.entry(named: entry.storageEntry) else { return }
        archive.releasePages(member)
    }

    public var tensorInfos: [CheckpointTensorInfo] {
        entries.map { CheckpointTensorInfo(name: $0.name, dtype: $0.dtype.rawValue, shape: $0.shape) }
    }
}
