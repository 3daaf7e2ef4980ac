import Foundation
import VKQ

/// The element types a safetensors file can declare.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: 8
        case .f32, .i32, .u32: 4
        case .f16, .bf16, .i16, .u16: 2
        case .f8e4m3, .f8e5m2, .i8, .u8, .bool: 1
        }
    }
}

/// One tensor's entry in a safetensors header. `range` is relative to the file start.
public struct SafetensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    public let range: Range<Int>
}

/// A safetensors file (the format of huggingface/safetensors), memory-mapped.
///
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data. The JSON maps
/// each tensor name to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the data start)
/// and may hold `__metadata__` (string → string). The whole header is validated when the file opens,
/// before any tensor is touched: the length, the JSON, every dtype, shape × dtype size = byte length,
/// offsets inside the file, and no two tensors overlapping.
public final class SafetensorsFile: @unchecked Sendable {
    public let url: URL
    public let metadata: [String: String]
    /// Entries in file order (by data offset).
    public let entries: [SafetensorsEntry]
    private let file: MappedFile
    var mapped: MappedFile { file }
    private let index: [String: Int]

    /// Headers above this size are refused: real checkpoints stay well under 10 MB.
    public static let maxHeaderLength = 100 << 20

    public init(url: URL) throws {
        self.url = url
        file = try MappedFile(url: url)
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw SafetensorsError.tooShort(url, size: bytes.count) }
        let headerLength = Int(clamping: bytes.loadUnaligned(as: UInt64.self).littleEndian)  // a claimed 2^64 is refused below, not a trap
        guard headerLength <= Self.maxHeaderLength else { throw SafetensorsError.headerTooLong(url, length: headerLength) }
        guard headerLength <= bytes.count - 8 else {
            throw SafetensorsError.headerPastEnd(url, length: headerLength, fileSize: bytes.count)
        }
        let header: RawHeader
        do {
            header = try JSONDecoder().decode(RawHeader.self, from: Data(bytes[8 ..< 8 + headerLength]))
        } catch let error as DecodingError {
            throw SafetensorsError.badJSON(url, reason: Self.explain(error))
        } catch {
            throw SafetensorsError.badJSON(url, reason: "\(error)")
        }
        let dataStart = 8 + headerLength
        var entries = try header.tensors.map { name, raw in
            try Self.validate(name: name, raw: raw, dataStart: dataStart, fileSize: bytes.count, url: url)
        }
        entries.sort { ($0.range.lowerBound, $0.range.upperBound, $0.name) < ($1.range.lowerBound, $1.range.upperBound, $1.name) }
        // Sorted by start: an overlap can only be with the previous non-empty entry.
        var previous: SafetensorsEntry?
        for entry in entries where !entry.range.isEmpty {
            if let previous, entry.range.lowerBound < previous.range.upperBound {
                throw SafetensorsError.overlap(url, previous.name, entry.name)
            }
            previous = entry
        }
        self.metadata = header.metadata
        self.entries = entries
        self.index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    private static func validate(name: String, raw: RawEntry, dataStart: Int, fileSize: Int, url: URL) throws -> SafetensorsEntry {
        guard let dtype = SafetensorsDType(rawValue: raw.dtype) else { throw SafetensorsError.unknownDType(url, name, raw.dtype) }
        guard raw.shape.allSatisfy({ $0 >= 0 }) else {
            throw SafetensorsError.badEntry(url, name, "shape \(raw.shape) has a negative dimension")
        }
        let offsets = raw.data_offsets
        guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
            throw SafetensorsError.badEntry(url, name, "data_offsets \(offsets) is not [begin, end] with 0 <= begin <= end")
        }
        var count = dtype.byteSize
        for dim in raw.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw SafetensorsError.badEntry(url, name, "shape \(raw.shape) overflows") }
            count = product
        }
        guard count == offsets[1] - offsets[0] else {
            throw SafetensorsError.lengthMismatch(url, name, shape: raw.shape, dtype: raw.dtype, bytes: offsets[1] - offsets[0])
        }
        let (end, overflow) = dataStart.addingReportingOverflow(offsets[1])
        guard !overflow, end <= fileSize else { throw SafetensorsError.outOfRange(url, name, end: end, fileSize: fileSize) }
        return SafetensorsEntry(name: name, dtype: dtype, shape: raw.shape, range: (dataStart + offsets[0]) ..< end)
    }

    /// A DecodingError as one line naming the tensor (the first coding-path key) and the problem.
    private static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            guard let first = context.codingPath.first else { return "" }
            let rest = context.codingPath.dropFirst().map { $0.intValue.map(String.init) ?? $0.stringValue }
            return "tensor '\(first.stringValue)'" + (rest.isEmpty ? "" : " field \(rest.joined(separator: "."))") + ": "
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return path(context) + context.debugDescription
        case .keyNotFound(let key, let context):
            return path(context) + "missing '\(key.stringValue)'"
        @unknown default:
            return "\(error)"
        }
    }

    public var names: [String] { entries.map(\.name) }

    public func entry(_ name: String) -> SafetensorsEntry? { index[name].map { entries[$0] } }

    /// The raw little-endian bytes of a tensor, in place in the memory map (valid while `self` lives).
    public func data(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let entry = entry(name) else { throw SafetensorsError.missingTensor(url, name) }
        return file.slice(entry.range)
    }

    /// A tensor converted to Float (f32, f16, bf16, f64 and f8_e4m3 sources).
    public func floats(_ name: String) throws -> [Float] {
        guard let entry = entry(name) else { throw SafetensorsError.missingTensor(url, name) }
        return try FloatDecoding.decode(file.slice(entry.range), dtype: entry.dtype, tensor: name, file: url)
    }
}

public enum SafetensorsError: Error, CustomStringConvertible {
    case tooShort(URL, size: Int)
    case headerTooLong(URL, length: Int)
    case headerPastEnd(URL, length: Int, fileSize: Int)
    case badJSON(URL, reason: String)
    case badEntry(URL, String, String)
    case unknownDType(URL, String, String)
    case lengthMismatch(URL, String, shape: [Int], dtype: String, bytes: Int)
    case outOfRange(URL, String, end: Int, fileSize: Int)
    case overlap(URL, String, String)
    case missingTensor(URL, String)

    public var description: String {
        switch self {
        case .tooShort(let url, let size):
            "\(url.path): \(size) bytes is too short for a safetensors file (truncated?)"
        case .headerTooLong(let url, let length):
            "\(url.path): header length \(length) is implausibly large (not a safetensors file?)"
        case .headerPastEnd(let url, let length, let fileSize):
            "\(url.path): header length \(length) runs past the end of the \(fileSize)-byte file (truncated?)"
        case .badJSON(let url, let reason):
            "\(url.path): header is not valid JSON: \(reason)"
        case .badEntry(let url, let name, let reason):
            "\(url.path): tensor '\(name)': \(reason)"
        case .unknownDType(let url, let name, let dtype):
            "\(url.path): tensor '\(name)' has unknown dtype '\(dtype)'"
        case .lengthMismatch(let url, let name, let shape, let dtype, let bytes):
            "\(url.path): tensor '\(name)': shape \(shape) of \(dtype) does not match its \(bytes) bytes of data"
        case .outOfRange(let url, let name, let end, let fileSize):
            "\(url.path): tensor '\(name)' ends at byte \(end), past the end of the \(fileSize)-byte file (truncated?)"
        case .overlap(let url, let a, let b):
            "\(url.path): tensors '\(a)' and '\(b)' overlap"
        case .missingTensor(let url, let name):
            "\(url.path): no tensor named '\(name)'"
        }
    }
}

/// The JSON header as written: tensor name → entry, plus the optional `__metadata__` string map.
private struct RawHeader: Decodable {
    var tensors: [(String, RawEntry)] = []
    var metadata: [String: String] = [:]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                tensors.append((key.stringValue, try container.decode(RawEntry.self, forKey: key)))
            }
        }
    }
}

private struct RawEntry: Decodable {
    var dtype: String
    var shape: [Int]
    var data_offsets: [Int]
}
