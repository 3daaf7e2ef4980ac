/// ggml's block quantizations decoded to f32, one function per type, following the reference
/// `dequantize_row_*` of ggml-quants.c (same bit layout, same order of float operations, no FMA).
///
/// Layouts (little-endian, f16 scales):
/// - Q4_0  d | qs[16]:            y[j] = (lo(qs[j]) − 8)·d, y[j+16] = (hi(qs[j]) − 8)·d
/// - Q4_1  d m | qs[16]:          y = q·d + m
/// - Q5_0  d | qh u32 | qs[16]:   5th bit of y[j] is qh bit j, of y[j+16] is qh bit j+16; y = (q − 16)·d
/// - Q5_1  d m | qh u32 | qs[16]: y = q·d + m
/// - Q8_0  d | qs[32] int8:       y = q·d
/// - Q4_K  d dmin | scales[12] | qs[128]: 8 sub-blocks of 32 with 6-bit scale sc and min m:
///         y = (d·sc)·q − (dmin·m); each 64 elements use 32 bytes of qs, low nibbles then high nibbles
/// - Q5_K  as Q4_K plus qh[32]: sub-block pair p takes bits 2p and 2p+1 of qh[l] as the 5th bit
/// - Q6_K  ql[128] | qh[64] | scales[16] int8 | d: two halves of 128; y = d·sc·(q − 32) with 16-element
///         sub-blocks, q = 4 low bits from ql and 2 high bits from qh
enum GGUFDequantize {
    static func dequantize(_ type: GGMLType, _ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        let decodeBlock: (UnsafeRawBufferPointer, UnsafeMutablePointer<Float>) -> Void = switch type {
        case .q4_0: q4_0
        case .q4_1: q4_1
        case .q5_0: q5_0
        case .q5_1: q5_1
        case .q8_0: q8_0
        case .q4_K: q4_K
        case .q5_K: q5_K
        case .q6_K: q6_K
        case .f32, .f16, .bf16, .f64: preconditionFailure("\(type.name) is not block-quantized")
        }
        var out = [Float](repeating: 0, count: count)
        let blocks = count / type.blockElements
        out.withUnsafeMutableBufferPointer { y in
            for b in 0 ..< blocks {
                let block = UnsafeRawBufferPointer(rebasing: bytes[b * type.blockBytes ..< (b + 1) * type.blockBytes])
                decodeBlock(block, y.baseAddress! + b * type.blockElements)
            }
        }
        return out
    }

    private static func half(_ block: UnsafeRawBufferPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    private static func word(_ block: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: block.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    static func q4_0(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for j in 0 ..< 16 {
            let q = block[2 + j]
            y[j] = Float(Int(q & 0xF) - 8) * d
            y[j + 16] = Float(Int(q >> 4) - 8) * d
        }
    }

    static func q4_1(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), m = half(block, 2)
        for j in 0 ..< 16 {
            let q = block[4 + j]
            y[j] = Float(q & 0xF) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    static func q5_0(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), qh = word(block, 2)
        for j in 0 ..< 16 {
            let q = block[6 + j]
            let high0 = Int((qh >> UInt32(j)) & 1) << 4, high1 = Int((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = Float((Int(q & 0xF) | high0) - 16) * d
            y[j + 16] = Float((Int(q >> 4) | high1) - 16) * d
        }
    }

    static func q5_1(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), m = half(block, 2), qh = word(block, 4)
        for j in 0 ..< 16 {
            let q = block[8 + j]
            let high0 = Int((qh >> UInt32(j)) & 1) << 4, high1 = Int((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = Float(Int(q & 0xF) | high0) * d + m
            y[j + 16] = Float(Int(q >> 4) | high1) * d + m
        }
    }

    static func q8_0(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for j in 0 ..< 32 { y[j] = Float(Int8(bitPattern: block[2 + j])) * d }
    }

    /// The 6-bit scale and min of sub-block `j` (0…7) from the 12 packed bytes of a Q4_K/Q5_K block:
    /// sub-blocks 0–3 sit in the low 6 bits of bytes j and j+4; 4–7 take 4 bits from byte j+4 and their
    /// top 2 bits from the spare high bits of bytes j−4 (scale) and j (min).
    static func scaleMin(_ j: Int, _ scales: UnsafeRawBufferPointer) -> (scale: UInt8, min: UInt8) {
        if j < 4 { return (scales[j] & 63, scales[j + 4] & 63) }
        return ((scales[j + 4] & 0xF) | (scales[j - 4] >> 6) << 4, (scales[j + 4] >> 4) | (scales[j] >> 6) << 4)
    }

    static func q4_K(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), dmin = half(block, 2)
        let scales = UnsafeRawBufferPointer(rebasing: block[4 ..< 16])
        for pair in 0 ..< 4 {  // 64 elements: sub-blocks 2·pair (low nibbles) and 2·pair+1 (high nibbles)
            let (sc1, m1) = scaleMin(2 * pair, scales), (sc2, m2) = scaleMin(2 * pair + 1, scales)
            let d1 = d * Float(sc1), min1 = dmin * Float(m1), d2 = d * Float(sc2), min2 = dmin * Float(m2)
            let qs = 16 + 32 * pair, out = y + 64 * pair
            for l in 0 ..< 32 {
                out[l] = d1 * Float(block[qs + l] & 0xF) - min1
                out[l + 32] = d2 * Float(block[qs + l] >> 4) - min2
            }
        }
    }

    static func q5_K(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), dmin = half(block, 2)
        let scales = UnsafeRawBufferPointer(rebasing: block[4 ..< 16])
        for pair in 0 ..< 4 {
            let (sc1, m1) = scaleMin(2 * pair, scales), (sc2, m2) = scaleMin(2 * pair + 1, scales)
            let d1 = d * Float(sc1), min1 = dmin * Float(m1), d2 = d * Float(sc2), min2 = dmin * Float(m2)
            let qs = 48 + 32 * pair, out = y + 64 * pair
            let bit1 = UInt8(1) << (2 * pair), bit2 = UInt8(2) << (2 * pair)
            for l in 0 ..< 32 {
                let high = block[16 + l]
                out[l] = d1 * Float(Int(block[qs + l] & 0xF) + (high & bit1 != 0 ? 16 : 0)) - min1
                out[l + 32] = d2 * Float(Int(block[qs + l] >> 4) + (high & bit2 != 0 ? 16 : 0)) - min2
            }
        }
    }

    static func q6_K(_ block: UnsafeRawBufferPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 208)
        for part in 0 ..< 2 {  // 128 elements: ql[64·part…], qh[32·part…], scales[8·part…]
            let ql = 64 * part, qh = 128 + 32 * part, sc = 192 + 8 * part, out = y + 128 * part
            for l in 0 ..< 32 {
                let s = l / 16
                let high = Int(block[qh + l])
                let q1 = Int(block[ql + l] & 0xF) | (high & 3) << 4
                let q2 = Int(block[ql + l + 32] & 0xF) | (high >> 2 & 3) << 4
                let q3 = Int(block[ql + l] >> 4) | (high >> 4 & 3) << 4
                let q4 = Int(block[ql + l + 32] >> 4) | (high >> 6 & 3) << 4
                out[l] = d * Float(Int8(bitPattern: block[sc + s])) * Float(q1 - 32)
                out[l + 32] = d * Float(Int8(bitPattern: block[sc + s + 2])) * Float(q2 - 32)
                out[l + 64] = d * Float(Int8(bitPattern: block[sc + s + 4])) * Float(q3 - 32)
                out[l + 96] = d * Float(Int8(bitPattern: block[sc + s + 6])) * Float(q4 - 32)
            }
        }
    }
}
