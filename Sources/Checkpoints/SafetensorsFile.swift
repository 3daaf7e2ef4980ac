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
    private let index: [String: Int]

    /// Headers above this size are refused: real checkpoints stay well under 10 MB.
    public static let maxHeaderLength = 100 << 20

    public init(url: URL) throws {
        self.url = url
        file = try MappedFile(url: url)
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw SafetensorsError.tooShort(url, size: bytes.count) }
        let headerLength = Int(bytes.loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLength <= Self.maxHeaderLength else { throw SafetensorsError.headerTooLong(url, length: headerLength) }
        guard headerLength <= bytes.count - 8 else {
            throw SafetensorsError.headerPastEnd(url, length: headerLength, fileSize: bytes.count)
        }
        let headerBytes = Data(bytes[8 ..< 8 + headerLength])
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw SafetensorsError.badJSON(url, reason: "\(error.localizedDescription)")
        }
        guard let object = json as? [String: Any] else { throw SafetensorsError.badJSON(url, reason: "header is not a JSON object") }

        let dataStart = 8 + headerLength
        var metadata: [String: String] = [:]
        var entries: [SafetensorsEntry] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard let dict = value as? [String: Any] else { throw SafetensorsError.badJSON(url, reason: "__metadata__ is not an object") }
                for (key, item) in dict {
                    guard let text = item as? String else {
                        throw SafetensorsError.badJSON(url, reason: "__metadata__.\(key) is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            entries.append(try Self.parseEntry(name: name, value: value, dataStart: dataStart, fileSize: bytes.count, url: url))
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
        self.metadata = metadata
        self.entries = entries
        self.index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    private static func parseEntry(name: String, value: Any, dataStart: Int, fileSize: Int, url: URL) throws -> SafetensorsEntry {
        guard let dict = value as? [String: Any] else { throw SafetensorsError.badEntry(url, name, "not an object") }
        guard let dtypeName = dict["dtype"] as? String else { throw SafetensorsError.badEntry(url, name, "missing dtype") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else { throw SafetensorsError.unknownDType(url, name, dtypeName) }
        guard let shapeValues = dict["shape"] as? [Any], let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 }) else {
            throw SafetensorsError.badEntry(url, name, "shape is not a list of non-negative integers")
        }
        guard let offsetValues = dict["data_offsets"] as? [Any], let offsets = integers(offsetValues), offsets.count == 2,
              offsets[0] >= 0, offsets[0] <= offsets[1]
        else { throw SafetensorsError.badEntry(url, name, "data_offsets is not [begin, end] with begin <= end") }
        let (count, overflow) = shape.reduce((1, false)) { acc, dim in
            let (product, o) = acc.0.multipliedReportingOverflow(by: dim)
            return (product, acc.1 || o)
        }
        let expected = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, !expected.overflow, expected.partialValue == offsets[1] - offsets[0] else {
            throw SafetensorsError.lengthMismatch(url, name, shape: shape, dtype: dtypeName, bytes: offsets[1] - offsets[0])
        }
        let range = (dataStart + offsets[0]) ..< (dataStart + offsets[1])
        guard range.upperBound <= fileSize else {
            throw SafetensorsError.outOfRange(url, name, end: range.upperBound, fileSize: fileSize)
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, range: range)
    }

    /// JSON numbers arrive as NSNumber (Linux) or Int; reject fractions and booleans.
    private static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            if let number = value as? NSNumber, !(value is Bool), let int = Int(exactly: number.doubleValue) {
                result.append(int)
            } else {
                return nil
            }
        }
        return result
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
