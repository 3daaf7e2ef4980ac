import Foundation

/// Reads the little-endian GGUF header front to back, every read bounds-checked so a truncated or
/// corrupt file gives an error naming the byte, never a trap or a huge allocation.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    let url: URL
    private(set) var position = 0

    init(bytes: UnsafeRawBufferPointer, url: URL) {
        self.bytes = bytes
        self.url = url
    }

    var remaining: Int { bytes.count - position }

    mutating func skip(to offset: Int) { position = offset }

    private mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw GGUFError.truncated(url, what, offset: position, fileSize: bytes.count) }
        defer { position += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    mutating func u32(_ what: String) throws -> UInt32 { try load(UInt32.self, what) }
    mutating func u64(_ what: String) throws -> UInt64 { try load(UInt64.self, what) }

    /// A u64 count that cannot exceed what the rest of the file could hold at `minimumBytes` each.
    mutating func count(_ what: String, minimumBytes: Int) throws -> Int {
        let start = position
        let value = try u64(what)
        guard value <= UInt64(remaining / max(minimumBytes, 1)) else {
            throw GGUFError.malformed(url, "\(what) \(value) at byte \(start) is more than the \(bytes.count)-byte file can hold (corrupt?)")
        }
        return Int(value)
    }

    mutating func string(_ what: String) throws -> String {
        let length = try count("length of \(what)", minimumBytes: 1)
        defer { position += length }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position ..< position + length]), as: UTF8.self)
    }

    /// One metadata value of `type`; arrays may nest (rarely), up to a small depth.
    mutating func value(_ type: GGUFValueType, key: String, depth: Int = 0) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try load(UInt8.self, key))
        case .int8: return .int8(try load(Int8.self, key))
        case .uint16: return .uint16(try load(UInt16.self, key))
        case .int16: return .int16(try load(Int16.self, key))
        case .uint32: return .uint32(try load(UInt32.self, key))
        case .int32: return .int32(try load(Int32.self, key))
        case .uint64: return .uint64(try load(UInt64.self, key))
        case .int64: return .int64(try load(Int64.self, key))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self, key)))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self, key)))
        case .bool:
            let byte = try load(UInt8.self, key)
            guard byte <= 1 else { throw GGUFError.malformed(url, "metadata '\(key)': bool byte is \(byte), not 0 or 1") }
            return .bool(byte == 1)
        case .string: return .string(try string(key))
        case .array:
            guard depth < 4 else { throw GGUFError.malformed(url, "metadata '\(key)': arrays nested too deep") }
            let element = try valueType(key)
            let count = try count("element count of '\(key)'", minimumBytes: element.minimumBytes)
            var items = [GGUFValue]()
            items.reserveCapacity(count)
            for _ in 0 ..< count { items.append(try value(element, key: key, depth: depth + 1)) }
            return .array(element, items)
        }
    }

    mutating func valueType(_ key: String) throws -> GGUFValueType {
        let start = position
        let raw = try u32("type of '\(key)'")
        guard let type = GGUFValueType(rawValue: raw) else {
            throw GGUFError.malformed(url, "metadata '\(key)' at byte \(start) has unknown value type \(raw)")
        }
        return type
    }
}
