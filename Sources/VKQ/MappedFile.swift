import CXXHash
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Tensors are read in place from it: no copy on the CPU.
///
/// The mapping lives as long as this object; hand out `UnsafeRawBufferPointer`s only to code that
/// keeps the `MappedFile` alive.
public final class MappedFile: @unchecked Sendable {
    public let url: URL
    public let size: Int
    public let bytes: UnsafeRawBufferPointer

    public init(url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw FileError.cannotOpen(url, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError.cannotOpen(url, errno: errno) }
        size = Int(info.st_size)
        if size == 0 {
            // mmap of length 0 fails; an empty file is still a valid (if useless) mapping.
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw FileError.cannotMap(url, errno: errno)
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// Tells the kernel these pages are not needed for now. They stay in the page cache, but leave this
    /// process's resident set: streaming through a 70 GB file this way keeps RSS at a few tensors.
    public func dropPages(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let page = Int(getpagesize())
        let start = range.lowerBound / page * page
        let end = min(size, (range.upperBound + page - 1) / page * page)
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// XXH3-64 of the whole file, read in 64 MiB steps whose pages are dropped as it goes.
    public func xxh3() -> UInt64 {
        let state = XXH3_createState()
        defer { XXH3_freeState(state) }
        XXH3_64bits_reset(state)
        let step = 64 << 20
        for start in stride(from: 0, to: size, by: step) {
            let range = start ..< min(size, start + step)
            let chunk = slice(range)
            XXH3_64bits_update(state, chunk.baseAddress, chunk.count)
            dropPages(range)
        }
        return XXH3_64bits_digest(state)
    }

    /// The bytes `range` of the file; the caller has validated the range.
    public func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[range])
    }
}

public enum FileError: Error, CustomStringConvertible {
    case cannotOpen(URL, errno: Int32)
    case cannotMap(URL, errno: Int32)

    public var description: String {
        switch self {
        case .cannotOpen(let url, let err): "\(url.path): cannot open (\(String(cString: strerror(err))))"
        case .cannotMap(let url, let err): "\(url.path): cannot memory-map (\(String(cString: strerror(err))))"
        }
    }
}
