import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams tensors into a .vkq file: each tensor is written as soon as it is appended, so converting
/// a 70 GB checkpoint holds only the tensors in flight in memory.
///
/// Everything goes to `<output>.tmp`; `finish` writes the header into the space reserved for it at the
/// front, syncs, re-reads the file and checks every checksum, and only then renames it to `<output>`.
/// A writer dropped without `finish` (an error, an interrupted run) removes its temporary file.
public final class VKQWriter {
    public let url: URL
    public let temporaryURL: URL
    private var fd: Int32
    private let dataOffset: Int
    private var nextOffset: Int
    private var records: [TensorRecord] = []
    private var finished = false

    /// `expectedTensorNames` sizes the header space reserved before the data (each record's size is bounded).
    public init(url: URL, expectedTensorNames: [String], extraHeaderBytes: Int = 0) throws {
        self.url = url
        temporaryURL = url.appendingPathExtension("tmp")
        let recordBound = expectedTensorNames.reduce(0) { $0 + 2 * $1.utf8.count + 640 }
        dataOffset = VKQLayout.aligned(VKQLayout.preambleSize + (64 << 10) + extraHeaderBytes + recordBound)
        nextOffset = dataOffset
        fd = open(temporaryURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw VKQError.cannotWrite(temporaryURL, String(cString: strerror(errno))) }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !finished { unlink(temporaryURL.path) }
    }

    public var tensorCount: Int { records.count }
    /// (name, relative L2) of every quantized tensor appended so far.
    public var recordedQuantizationErrors: [(String, Double)] { records.compactMap { r in r.quantizationError.map { (r.name, $0) } } }
    public var bytesWritten: Int { nextOffset }

    @discardableResult
    public func append(_ tensor: EncodedTensor) throws -> TensorRecord {
        precondition(!finished, "append after finish")
        let data = try writeBlob(tensor.data)
        let scales = try tensor.scales.map { try writeBlob($0) }
        var group: Int?
        if case .q8(let g) = tensor.dtype { group = g }
        let record = TensorRecord(
            name: tensor.name, shape: tensor.shape, dtype: tensor.dtype.name, group: group, encoding: tensor.encoding,
            data: data, scales: scales, sourceName: tensor.sourceName, sourceDType: tensor.sourceDType,
            quantizationError: tensor.quantizationError)
        records.append(record)
        return record
    }

    private func writeBlob(_ bytes: [UInt8]) throws -> Blob {
        let offset = nextOffset
        try bytes.withUnsafeBytes { try writeAll($0, at: offset) }
        nextOffset = VKQLayout.aligned(offset + bytes.count)
        return Blob(offset: offset, length: bytes.count, xxh3: bytes.withUnsafeBytes(Checksum.xxh3Hex))
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw VKQError.cannotWrite(temporaryURL, String(cString: strerror(errno)))
            }
            done += n
        }
    }

    /// Writes the header (its `tensors` are the appended records), verifies the file and renames it into place.
    public func finish(family: String, component: String, config: JSONValue, source: [SourceFile], converter: ConverterInfo) throws -> VKQHeader {
        let header = VKQHeader(family: family, component: component, config: config, source: source, converter: converter, tensors: records)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try encoder.encode(header)
        let room = dataOffset - VKQLayout.preambleSize
        guard json.count <= room else { throw VKQError.headerTooLarge(json.count, reserved: room) }

        var front = [UInt8](repeating: 0, count: VKQLayout.preambleSize)
        front.replaceSubrange(0 ..< 4, with: VKQLayout.magic)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { front.replaceSubrange(offset ..< offset + MemoryLayout<T>.size, with: $0) }
        }
        put(VKQLayout.version, at: 4)
        put(UInt64(json.count), at: 8)
        put(json.withUnsafeBytes(Checksum.xxh3), at: 16)
        put(UInt64(dataOffset), at: 24)
        let fileLength = max(nextOffset, dataOffset)
        put(UInt64(fileLength), at: 32)
        front.append(contentsOf: json)
        front.append(contentsOf: [UInt8](repeating: 0x20, count: room - json.count))
        try front.withUnsafeBytes { try writeAll($0, at: 0) }
        // The file is as long as the last blob's padding says, even if that blob was empty.
        if ftruncate(fd, off_t(fileLength)) != 0 || fsync(fd) != 0 {
            throw VKQError.cannotWrite(temporaryURL, String(cString: strerror(errno)))
        }
        close(fd)
        fd = -1

        try VKQFile(url: temporaryURL).verify()
        guard rename(temporaryURL.path, url.path) == 0 else {
            throw VKQError.cannotWrite(url, String(cString: strerror(errno)))
        }
        finished = true
        return header
    }
}
