import Foundation

/// Converts little-endian checkpoint data of a floating-point dtype into `[Float]`.
enum FloatDecoding {
    static func decode(_ bytes: UnsafeRawBufferPointer, dtype: SafetensorsDType, tensor: String, file: URL) throws -> [Float] {
        switch dtype {
        case .f32:
            return [Float](unsafeUninitializedCapacity: bytes.count / 4) { out, count in
                UnsafeMutableRawBufferPointer(out).copyMemory(from: bytes)
                count = bytes.count / 4
            }
        case .f64:
            return (0 ..< bytes.count / 8).map { Float(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) }
        case .f16:
            return (0 ..< bytes.count / 2).map { Float(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))) }
        case .bf16:
            let n = bytes.count / 2
            return [Float](unsafeUninitializedCapacity: n) { out, count in
                for i in 0 ..< n {
                    let bits = UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8
                    out[i] = Float(bitPattern: UInt32(bits) << 16)
                }
                count = n
            }
        case .f8e4m3:
            return bytes.map(float8E4M3)
        default:
            throw DecodingError.notFloating(file, tensor, dtype.rawValue)
        }
    }

    /// OCP FP8 E4M3 (fn variant: no infinities, S.1111.111 is NaN), bias 7.
    static func float8E4M3(_ byte: UInt8) -> Float {
        let sign: Float = byte & 0x80 != 0 ? -1 : 1
        let exponent = Int((byte >> 3) & 0xF)
        let mantissa = Float(byte & 0x7)
        if exponent == 0xF && byte & 0x7 == 0x7 { return .nan }
        if exponent == 0 { return sign * mantissa / 8 * Float(pow(2.0, -6.0)) }
        return sign * (1 + mantissa / 8) * Float(pow(2.0, Double(exponent - 7)))
    }

    enum DecodingError: Error, CustomStringConvertible {
        case notFloating(URL, String, String)
        var description: String {
            switch self {
            case .notFloating(let url, let name, let dtype): "\(url.path): tensor '\(name)' is \(dtype), not a floating-point type"
            }
        }
    }
}
