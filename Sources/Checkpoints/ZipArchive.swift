import Foundation
import VKQ

/// One member of a ZIP archive. `dataRange` is where its (stored) bytes lie in the file.
public struct ZipEntry: Sendable, Equatable {
    public let name: String
    /// 0 = stored, 8 = deflate, …; only stored entries can be read in place.
    public let method: UInt16
    public let compressedSize: Int
    public let uncompressedSize: Int
    public let dataRange: Range<Int>
}

/// A read-only view of a ZIP archive held in a memory map, enough for PyTorch checkpoints.
///
/// torch.save writes every member uncompressed ("stored") so tensors can be mapped in place; we read
/// nothing else. The central directory is the source of truth: torch sets the data-descriptor flag and
/// leaves sizes zero in the local headers, so those are used only for the name/extra lengths that
/// place the data. Files over 4 GB (the 11 GB umT5 encoder) need the ZIP64 records, handled here.
/// Every offset is checked against the file size when the archive opens; CRCs are not checked (that
/// would read all 11 GB up front).
public final class ZipArchive: @unchecked Sendable {
    public let url: URL
    /// Entries in central-directory order.
    public let entries: [ZipEntry]
    private let file: MappedFile
    private let index: [String: Int]

    /// The central directory may hold at most this many entries: a checkpoint has one per storage
    /// (a few thousand); a count in the millions is a corrupt or hostile file.
    public static let maxEntries = 1 << 20

    public init(file: MappedFile) throws {
        self.file = file
        url = file.url
        let bytes = file.bytes
        let end = try Self.findEndOfCentralDirectory(bytes, url: url)
        let reader = ZipFieldReader(bytes: bytes, url: url)
        var count = Int(try reader.u16(at: end + 10))
        var directorySize = Int(try reader.u32(at: end + 12))
        var directoryOffset = Int(try reader.u32(at: end + 16))
        // ZIP64: a locator sits just before the classic record; its record replaces the saturated fields.
        if end >= 20, try reader.u32(at: end - 20) == 0x0706_4B50 {
            let record = try reader.offset(reader.u64(at: end - 20 + 8), what: "ZIP64 end-of-central-directory offset")
            guard try reader.u32(at: record) == 0x0606_4B50 else {
                throw ZipError.malformed(url, "no ZIP64 end-of-central-directory record at byte \(record) (truncated?)")
            }
            count = try reader.offset(reader.u64(at: record + 32), what: "ZIP64 entry count")
            directorySize = try reader.offset(reader.u64(at: record + 40), what: "ZIP64 central directory size")
            directoryOffset = try reader.offset(reader.u64(at: record + 48), what: "ZIP64 central directory offset")
        }
        guard count <= Self.maxEntries else { throw ZipError.malformed(url, "\(count) entries is implausibly many") }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw ZipError.malformed(url, "central directory (\(directorySize) bytes at \(directoryOffset)) runs past the end of the \(bytes.count)-byte file (truncated?)")
        }
        var entries = [ZipEntry]()
        entries.reserveCapacity(count)
        var position = directoryOffset
        for _ in 0 ..< count {
            let (entry, next) = try Self.readCentralEntry(at: position, reader: reader)
            entries.append(entry)
            position = next
        }
        self.entries = entries
        // Duplicate names: the last one wins, as in Python's zipfile.
        index = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { $1 })
    }

    public convenience init(url: URL) throws {
        try self.init(file: MappedFile(url: url))
    }

    public func entry(named name: String) -> ZipEntry? { index[name].map { entries[$0] } }

    /// A stored entry's bytes in place in the memory map (valid while `self` lives).
    public func data(_ entry: ZipEntry) throws -> UnsafeRawBufferPointer {
        guard entry.method == 0 else { throw ZipError.compressed(url, entry.name, method: entry.method) }
        return file.slice(entry.dataRange)
    }

    /// Lets the kernel drop an entry's mapped pages from this process's resident set (they stay in the
    /// page cache and fault back in if read again), so streaming an 11 GB archive keeps memory flat.
    public func releasePages(_ entry: ZipEntry) {
        file.dropPages(entry.dataRange)
    }

    /// The end-of-central-directory record is the last 22 bytes, unless a comment (≤ 65535 bytes) follows.
    private static func findEndOfCentralDirectory(_ bytes: UnsafeRawBufferPointer, url: URL) throws -> Int {
        guard bytes.count >= 22 else { throw ZipError.notZip(url, "\(bytes.count) bytes is too short for a ZIP archive (truncated?)") }
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        var position = bytes.count - 22
        while position >= lowest {
            if bytes[position] == 0x50, bytes[position + 1] == 0x4B, bytes[position + 2] == 5, bytes[position + 3] == 6 {
                let commentLength = Int(bytes[position + 20]) | Int(bytes[position + 21]) << 8
                if position + 22 + commentLength == bytes.count { return position }
            }
            position -= 1
        }
        let hint = bytes.count >= 4 && bytes[0] == 0x50 && bytes[1] == 0x4B
            ? "no end-of-central-directory record (truncated?)"
            : "not a ZIP archive (no end-of-central-directory record)"
        throw ZipError.notZip(url, hint)
    }

    /// One central-directory header (46 fixed bytes + name + extra + comment) and its local header.
    private static func readCentralEntry(at position: Int, reader: ZipFieldReader) throws -> (ZipEntry, Int) {
        let url = reader.url
        guard try reader.u32(at: position) == 0x0201_4B50 else {
            throw ZipError.malformed(url, "no central-directory entry at byte \(position) (truncated or corrupt)")
        }
        let flags = try reader.u16(at: position + 8)
        let method = try reader.u16(at: position + 10)
        var compressed = UInt64(try reader.u32(at: position + 20))
        var uncompressed = UInt64(try reader.u32(at: position + 24))
        let nameLength = Int(try reader.u16(at: position + 28))
        let extraLength = Int(try reader.u16(at: position + 30))
        let commentLength = Int(try reader.u16(at: position + 32))
        var localOffset = UInt64(try reader.u32(at: position + 42))
        let name = try reader.string(at: position + 46, count: nameLength)
        let extra = position + 46 + nameLength
        try reader.require(extra ..< extra + extraLength + commentLength, what: "central-directory entry '\(name)'")
        // ZIP64 extended information (tag 1): 8-byte values, present only for the fields saturated at 0xFFFFFFFF.
        var field = extra
        while field + 4 <= extra + extraLength {
            let tag = try reader.u16(at: field), size = Int(try reader.u16(at: field + 2))
            if tag == 1 {
                var cursor = field + 4
                let limit = field + 4 + size
                if uncompressed == 0xFFFF_FFFF { uncompressed = try reader.zip64Value(&cursor, limit: limit, entry: name) }
                if compressed == 0xFFFF_FFFF { compressed = try reader.zip64Value(&cursor, limit: limit, entry: name) }
                if localOffset == 0xFFFF_FFFF { localOffset = try reader.zip64Value(&cursor, limit: limit, entry: name) }
            }
            field += 4 + size
        }
        guard flags & 1 == 0 else { throw ZipError.malformed(url, "'\(name)' is encrypted") }
        let local = try reader.offset(localOffset, what: "'\(name)' local header offset")
        guard try reader.u32(at: local) == 0x0403_4B50 else {
            throw ZipError.malformed(url, "'\(name)': no local header at byte \(local) (truncated or corrupt)")
        }
        // The local extra field differs from the central one (torch pads it to align the data).
        let dataStart = local + 30 + Int(try reader.u16(at: local + 26)) + Int(try reader.u16(at: local + 28))
        let size = try reader.offset(compressed, what: "'\(name)' size")
        guard dataStart <= reader.bytes.count, size <= reader.bytes.count - dataStart else {
            throw ZipError.entryPastEnd(url, name, end: dataStart + size, fileSize: reader.bytes.count)
        }
        let entry = ZipEntry(
            name: name, method: method, compressedSize: size,
            uncompressedSize: try reader.offset(uncompressed, what: "'\(name)' uncompressed size"),
            dataRange: dataStart ..< dataStart + size)
        if method == 0, entry.compressedSize != entry.uncompressedSize {
            throw ZipError.malformed(url, "stored entry '\(name)' has compressed size \(entry.compressedSize) ≠ uncompressed size \(entry.uncompressedSize)")
        }
        return (entry, extra + extraLength + commentLength)
    }
}

/// Little-endian fields at absolute offsets, each bounds-checked so a cut file gives an error, not a trap.
struct ZipFieldReader {
    let bytes: UnsafeRawBufferPointer
    let url: URL

    func require(_ range: Range<Int>, what: String) throws {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw ZipError.malformed(url, "\(what) (bytes \(range.lowerBound)..<\(range.upperBound)) runs past the end of the \(bytes.count)-byte file (truncated?)")
        }
    }

    func u16(at offset: Int) throws -> UInt16 {
        try require(offset ..< offset + 2, what: "a ZIP header field")
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    func u32(at offset: Int) throws -> UInt32 {
        try require(offset ..< offset + 4, what: "a ZIP header field")
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func u64(at offset: Int) throws -> UInt64 {
        try require(offset ..< offset + 8, what: "a ZIP header field")
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    func string(at offset: Int, count: Int) throws -> String {
        try require(offset ..< offset + count, what: "a ZIP entry name")
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + count]), as: UTF8.self)
    }

    /// The next 8-byte value of a ZIP64 extra field, which must end by `limit`.
    func zip64Value(_ cursor: inout Int, limit: Int, entry: String) throws -> UInt64 {
        guard cursor + 8 <= limit else { throw ZipError.malformed(url, "'\(entry)': ZIP64 extra field is too short") }
        defer { cursor += 8 }
        return try u64(at: cursor)
    }

    /// A 64-bit size or offset as an Int no larger than the file (larger cannot be valid).
    func offset(_ value: UInt64, what: String) throws -> Int {
        guard value <= UInt64(bytes.count) else {
            throw ZipError.malformed(url, "\(what) \(value) is past the end of the \(bytes.count)-byte file (truncated?)")
        }
        return Int(value)
    }
}

public enum ZipError: Error, CustomStringConvertible {
    case notZip(URL, String)
    case malformed(URL, String)
    case entryPastEnd(URL, String, end: Int, fileSize: Int)
    case compressed(URL, String, method: UInt16)

    public var description: String {
        switch self {
        case .notZip(let url, let reason): "\(url.path): \(reason)"
        case .malformed(let url, let reason): "\(url.path): corrupt ZIP archive: \(reason)"
        case .entryPastEnd(let url, let name, let end, let fileSize):
            "\(url.path): ZIP entry '\(name)' ends at byte \(end), past the end of the \(fileSize)-byte file (truncated?)"
        case .compressed(let url, let name, let method):
            "\(url.path): ZIP entry '\(name)' is compressed (method \(method)); only stored (uncompressed) entries, as torch.save writes them, can be read — re-save the checkpoint with torch.save"
        }
    }
}
