import Tensors

/// Number formats of .vkq tensors: f32 → f16 / bf16 rounding and q8 group quantization.
///
/// q8: for each output row and each group of `group` consecutive input elements (the whole row when
/// `group == 0`), scale = max|w| / 127 rounded to f16, q = round(w / scale) clamped to ±127. Rounding the
/// scale first means dequantization (q · scale) reproduces exactly what the error figure measured.
public enum Quantization {
    public struct Q8: Sendable {
        public var values: [Int8]
        public var scales: [Float16]
        /// ‖dequant − w‖₂ / ‖w‖₂ (0 for an all-zero tensor).
        public var relativeL2: Double
    }

    /// The group actually used for a row of `columns` elements: `group` when it divides the row,
    /// else the whole row (so every group is full).
    public static func effectiveGroup(_ group: Int, columns: Int) -> Int {
        group > 0 && columns % group == 0 ? group : columns
    }

    public static func quantizeQ8(_ weights: [Float], rows: Int, columns: Int, group requested: Int) -> Q8 {
        precondition(weights.count == rows * columns)
        let group = effectiveGroup(requested, columns: columns)
        let groups = group > 0 ? weights.count / group : 0
        var values = [Int8](repeating: 0, count: weights.count)
        var scales = [Float16](repeating: 0, count: groups)
        var errorSquared = 0.0, normSquared = 0.0
        weights.withUnsafeBufferPointer { w in
            values.withUnsafeMutableBufferPointer { q in
                for g in 0 ..< groups {
                    let start = g * group
                    var maxAbs: Float = 0
                    for i in start ..< start + group { maxAbs = max(maxAbs, abs(w[i])) }
                    let scale = Float16(maxAbs / 127)
                    scales[g] = scale
                    let s = Float(scale)
                    let inverse: Float = s > 0 ? 1 / s : 0
                    // Float sums per group (vectorisable), Double across groups.
                    var groupError: Float = 0, groupNorm: Float = 0
                    for i in start ..< start + group {
                        let level = max(-127, min(127, (w[i] * inverse).rounded(.toNearestOrEven)))
                        q[i] = Int8(level)
                        let error = level * s - w[i]
                        groupError += error * error
                        groupNorm += w[i] * w[i]
                    }
                    errorSquared += Double(groupError)
                    normSquared += Double(groupNorm)
                }
            }
        }
        let relative = normSquared > 0 ? (errorSquared / normSquared).squareRoot() : 0
        return Q8(values: values, scales: scales, relativeL2: relative)
    }

    public static func dequantizeQ8(values: UnsafeBufferPointer<Int8>, scales: UnsafeBufferPointer<Float16>, rows: Int, columns: Int, group requested: Int) -> [Float] {
        let group = effectiveGroup(requested, columns: columns)
        var out = [Float](repeating: 0, count: rows * columns)
        for i in 0 ..< rows * columns { out[i] = Float(values[i]) * Float(scales[i / group]) }
        return out
    }

    /// Round-to-nearest-even f32 → bf16 (NaN stays NaN).
    public static func bf16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    public static func floatFromBF16(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// 16-bit little-endian data as two byte planes (all low bytes, then all high bytes): zstd finds
    /// far more redundancy in the exponent-carrying high bytes when they sit together.
    public static func shuffleBytePlanes(_ bytes: [UInt8]) -> [UInt8] {
        let n = bytes.count / 2
        var out = [UInt8](repeating: 0, count: bytes.count)
        for i in 0 ..< n {
            out[i] = bytes[2 * i]
            out[n + i] = bytes[2 * i + 1]
        }
        return out
    }

    public static func unshuffleBytePlanes(_ planes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        let n = planes.count / 2
        for i in 0 ..< n {
            out[2 * i] = planes[i]
            out[2 * i + 1] = planes[n + i]
        }
    }
}
