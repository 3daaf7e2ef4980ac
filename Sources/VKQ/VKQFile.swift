import Dispatch
import Foundation
import Tensors

/// A .vkq file, memory-mapped and validated whole before any tensor is used: preamble, header
/// checksum, JSON, and for every tensor its dtype, shape × dtype = length, alignment, bounds and
/// overlaps. Raw tensors are handed out in place (no copy); zstd tensors are decompressed on request.
public final class VKQFile: @unchecked Sendable {
    public let url: URL
    public let header: VKQHeader
    public let dataOffset: Int
    private let file: MappedFile
    private let index: [String: Int]

    public init(url: URL) throws {
        self.url = url
        file = try MappedFile(url: url)
        let bytes = file.bytes
        guard bytes.count >= 4, Array(bytes[0 ..< 4]) == VKQLayout.magic else { throw VKQError.notVKQ(url) }
        guard bytes.count >= VKQLayout.preambleSize else { throw VKQError.truncated(url, "file shorter than the 64-byte preamble") }
        func read<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T { T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        let version = read(4, as: UInt32.self)
        guard version == VKQLayout.version else { throw VKQError.unsupportedVersion(url, version) }
        let headerLength = Int(clamping: read(8, as: UInt64.self))
        let headerSum = read(16, as: UInt64.self)
        dataOffset = Int(clamping: read(24, as: UInt64.self))
        let fileLength = Int(clamping: read(32, as: UInt64.self))
        guard fileLength == bytes.count else {
            throw VKQError.truncated(url, "the preamble says \(fileLength) bytes, the file has \(bytes.count)")
        }
        guard headerLength <= dataOffset - VKQLayout.preambleSize, dataOffset % VKQLayout.alignment == 0 else {
            throw VKQError.badHeader(url, "header length \(headerLength) and data offset \(dataOffset) disagree")
        }
        guard dataOffset <= bytes.count else {
            throw VKQError.truncated(url, "data starts at \(dataOffset) but the file has \(bytes.count) bytes")
        }
        let json = file.slice(VKQLayout.preambleSize ..< VKQLayout.preambleSize + headerLength)
        guard Checksum.xxh3(json) == headerSum else { throw VKQError.headerChecksum(url) }
        do {
            header = try JSONDecoder().decode(VKQHeader.self, from: Data(json))
        } catch {
            throw VKQError.badHeader(url, "\(error)")
        }
        index = try Self.validate(header.tensors, dataOffset: dataOffset, fileSize: bytes.count, url: url)
    }

    private static func validate(_ tensors: [TensorRecord], dataOffset: Int, fileSize: Int, url: URL) throws -> [String: Int] {
        var index: [String: Int] = [:]
        var blobs: [(Range<Int>, String)] = []
        for (i, t) in tensors.enumerated() {
            func fail(_ why: String) -> VKQError { .badTensor(url, t.name, why) }
            guard index.updateValue(i, forKey: t.name) == nil else { throw fail("appears twice") }
            guard let dtype = VKQLayout.dtype(named: t.dtype, group: t.group) else { throw fail("unknown dtype '\(t.dtype)'") }
            guard t.shape.allSatisfy({ $0 >= 0 }) else { throw fail("negative dimension in \(t.shape)") }
            let count = t.shape.reduce(1, *)
            let rawLength = count * dtype.elementSize
            if t.encoding == .raw, t.data.length != rawLength {
                throw fail("shape \(t.shape) of \(t.dtype) needs \(rawLength) bytes, the table says \(t.data.length)")
            }
            if case .q8(let group) = dtype {
                guard let scales = t.scales else { throw fail("q8 without scales") }
                let (rows, columns) = VKQLayout.matrixShape(t.shape)
                guard group == 0 || (group > 0 && columns % group == 0) else { throw fail("group \(group) does not divide a row of \(columns)") }
                let scaleBytes = rows * (group == 0 ? 1 : columns / group) * 2
                if t.encoding == .raw, scales.length != scaleBytes {
                    throw fail("scales need \(scaleBytes) bytes, the table says \(scales.length)")
                }
            } else if t.scales != nil {
                throw fail("scales on a \(t.dtype) tensor")
            }
            for (blob, label) in [(t.data, "data"), (t.scales, "scales")] {
                guard let blob else { continue }
                guard blob.offset % VKQLayout.alignment == 0, blob.offset >= dataOffset, blob.length >= 0 else {
                    throw fail("\(label) offset \(blob.offset) is not a 4096-aligned offset in the data section")
                }
                guard blob.offset + blob.length <= fileSize else {
                    throw VKQError.truncated(url, "tensor '\(t.name)' \(label) ends at \(blob.offset + blob.length), the file has \(fileSize) bytes")
                }
                if blob.length > 0 { blobs.append((blob.offset ..< blob.offset + blob.length, t.name)) }
            }
        }
        blobs.sort { $0.0.lowerBound < $1.0.lowerBound }
        for (a, b) in zip(blobs, blobs.dropFirst()) where b.0.lowerBound < a.0.upperBound {
            throw VKQError.overlap(url, a.1, b.1)
        }
        return index
    }

    public var tensors: [TensorRecord] { header.tensors }

    public func record(_ name: String) throws -> TensorRecord {
        guard let i = index[name] else { throw VKQError.missingTensor(url, name) }
        return header.tensors[i]
    }

    public func dtype(of record: TensorRecord) -> DType { VKQLayout.dtype(named: record.dtype, group: record.group)! }

    /// Checks the XXH3 of every stored blob (in parallel); the error names the first bad tensor.
    public func verify() throws {
        let tensors = header.tensors
        let failures = LockedArray<(Int, String)>()
        DispatchQueue.concurrentPerform(iterations: tensors.count) { i in
            let t = tensors[i]
            for (blob, label) in [(t.data, "data"), (t.scales, "scales")] {
                guard let blob else { continue }
                let range = blob.offset ..< blob.offset + blob.length
                if Checksum.xxh3Hex(file.slice(range)) != blob.xxh3 { failures.append((i, label)) }
                file.dropPages(range)  // verifying a large file must not make it resident
            }
        }
        if let first = failures.values.min(by: { $0.0 < $1.0 }) {
            throw VKQError.checksumMismatch(url, tensor: tensors[first.0].name, array: first.1)
        }
        try verifyPadding()
    }

    /// Every byte outside the preamble fields, the header JSON and the blobs has its fixed value (docs/format.md:
    /// reserved preamble bytes and blob padding zero, the header room spaces), so a flipped byte anywhere fails.
    func verifyPadding() throws {
        func expect(_ range: Range<Int>, _ value: UInt8, _ what: String) throws {
            guard !range.isEmpty else { return }
            if let i = file.slice(range).firstIndex(where: { $0 != value }) {
                throw VKQError.badPadding(url, offset: range.lowerBound + i, what: what)
            }
        }
        let headerLength = Int(clamping: UInt64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        try expect(40 ..< VKQLayout.preambleSize, 0, "reserved preamble")
        try expect(VKQLayout.preambleSize + headerLength ..< dataOffset, 0x20, "header room")
        let blobs = header.tensors.flatMap { [$0.data, $0.scales].compactMap { $0 } }
            .map { $0.offset ..< $0.offset + $0.length }.sorted { $0.lowerBound < $1.lowerBound }
        var end = dataOffset
        for blob in blobs {
            try expect(end ..< blob.lowerBound, 0, "padding between blobs")
            end = max(end, blob.upperBound)
        }
        try expect(end ..< file.bytes.count, 0, "padding after the last blob")
    }

    /// Takes a blob's pages out of the resident set (see `MappedFile.dropPages`).
    public func dropPages(_ blob: Blob) { file.dropPages(blob.offset ..< blob.offset + blob.length) }

    /// The stored bytes of a blob, in place.
    public func stored(_ blob: Blob) -> UnsafeRawBufferPointer { file.slice(blob.offset ..< blob.offset + blob.length) }

    /// The decoded bytes of a tensor's data (and scales): in place for raw, decompressed for zstd.
    public func decoded(_ record: TensorRecord) throws -> (data: TensorBytes, scales: TensorBytes?) {
        let dtype = dtype(of: record)
        let (rows, columns) = VKQLayout.matrixShape(record.shape)
        let dataLength = record.shape.reduce(1, *) * dtype.elementSize
        var scaleLength = 0
        if case .q8(let group) = dtype { scaleLength = rows * (group == 0 ? 1 : columns / group) * 2 }
        func decode(_ blob: Blob, length: Int, planes: Bool) throws -> TensorBytes {
            if record.encoding == .raw { return TensorBytes(owner: file, bytes: stored(blob)) }
            do {
                let frame = try TensorBytes(count: length) { try Zstd.decompress(stored(blob), into: $0) }
                guard planes else { return frame }
                return TensorBytes(count: length) { Quantization.unshuffleBytePlanes(frame.bytes, into: $0) }
            } catch {
                throw VKQError.badTensor(url, record.name, "\(error)")
            }
        }
        let data = try decode(record.data, length: dataLength, planes: dtype.elementSize == 2)
        let scales = try record.scales.map { try decode($0, length: scaleLength, planes: true) }
        return (data, scales)
    }

    /// A tensor as f32 values (dequantized for q8), for checks and the CPU reference path.
    public func floats(_ name: String) throws -> [Float] {
        let record = try record(name)
        let (data, scales) = try decoded(record)
        let count = record.shape.reduce(1, *)
        let bytes = data.bytes
        switch dtype(of: record) {
        case .f32: return Array(bytes.bindMemory(to: Float.self).prefix(count))
        case .f16: return bytes.bindMemory(to: Float16.self).prefix(count).map(Float.init)
        case .bf16: return bytes.bindMemory(to: UInt16.self).prefix(count).map(Quantization.floatFromBF16)
        case .q8(let group):
            let (rows, columns) = VKQLayout.matrixShape(record.shape)
            return Quantization.dequantizeQ8(values: bytes.bindMemory(to: Int8.self), scales: scales!.bytes.bindMemory(to: Float16.self),
                                             rows: rows, columns: columns, group: group == 0 ? columns : group)
        }
    }
}

/// Bytes of a decoded tensor: either a slice of the file's memory map (kept alive by `owner`) or a
/// buffer this object allocated and frees.
public final class TensorBytes: @unchecked Sendable {
    private let owner: AnyObject?
    private let allocated: UnsafeMutableRawBufferPointer?
    public let bytes: UnsafeRawBufferPointer

    init(owner: AnyObject, bytes: UnsafeRawBufferPointer) {
        self.owner = owner
        self.allocated = nil
        self.bytes = bytes
    }

    /// A zeroed buffer of `count` bytes for `fill` to write into.
    init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        do { try fill(buffer) } catch { buffer.deallocate(); throw error }
        owner = nil
        allocated = buffer
        bytes = UnsafeRawBufferPointer(buffer)
    }

    deinit { allocated?.deallocate() }
}

final class LockedArray<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { lock.withLock { items.append(item) } }
    var values: [T] { lock.withLock { items } }
}
