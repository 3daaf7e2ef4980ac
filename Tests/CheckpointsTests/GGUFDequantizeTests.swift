import Foundation
import Testing
@testable import Checkpoints

/// Hand-built blocks with known scales and quants, checked against a per-element formula written
/// from the format description (not from the reader's loop structure). Scales are powers of two and
/// quants small, so every expected value is exact and the comparison is `==`.
@Suite struct GGUFDequantizeTests {
    /// Deterministic bytes (a 32-bit LCG), so every bit pattern shows up without a fixture.
    static func pseudoRandom(_ count: Int, seed: UInt32) -> [UInt8] {
        var state = seed
        return (0 ..< count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    static func f16(_ value: Float16) -> [UInt8] { littleEndianBytes([value.bitPattern]) }

    /// Reads a one-tensor GGUF back, as a converter would.
    func roundTrip(type: GGMLType, elements: Int, block: [UInt8]) throws -> [Float] {
        var writer = GGUFWriterForTests()
        writer.add("w", ne: [UInt64(elements)], type: type.rawValue, data: block)
        let url = FileManager.default.temporaryDirectory.appending(path: "vacekit-dq-\(UUID().uuidString).gguf")
        try Data(writer.serialized()).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try GGUFFile(url: url)
        #expect(file.entry("w")?.type == type)
        return try file.floats("w")
    }

    /// Element e of a 32-block: e < 16 is the low nibble of byte e, else the high nibble of byte e − 16.
    static func nibble32(_ qs: [UInt8], _ e: Int) -> Int { e < 16 ? Int(qs[e] & 0xF) : Int(qs[e - 16] >> 4) }

    @Test func q4_0() throws {
        let qs = Self.pseudoRandom(16, seed: 1)
        let values = try roundTrip(type: .q4_0, elements: 32, block: Self.f16(0.25) + qs)
        #expect(values == (0 ..< 32).map { Float(Self.nibble32(qs, $0) - 8) * 0.25 })
    }

    @Test func q4_1() throws {
        let qs = Self.pseudoRandom(16, seed: 2)
        let values = try roundTrip(type: .q4_1, elements: 32, block: Self.f16(0.5) + Self.f16(-3) + qs)
        #expect(values == (0 ..< 32).map { Float(Self.nibble32(qs, $0)) * 0.5 - 3 })
    }

    @Test func q5_0AndQ5_1() throws {
        let qs = Self.pseudoRandom(16, seed: 3), qh = Self.pseudoRandom(4, seed: 4)
        // The 5th bit of element e is bit e of the little-endian u32 qh.
        func fifth(_ e: Int) -> Int { Int(qh[e / 8] >> (e % 8) & 1) << 4 }
        let q5_0 = try roundTrip(type: .q5_0, elements: 32, block: Self.f16(-0.5) + qh + qs)
        #expect(q5_0 == (0 ..< 32).map { Float((Self.nibble32(qs, $0) | fifth($0)) - 16) * -0.5 })
        let q5_1 = try roundTrip(type: .q5_1, elements: 32, block: Self.f16(0.25) + Self.f16(1) + qh + qs)
        #expect(q5_1 == (0 ..< 32).map { Float(Self.nibble32(qs, $0) | fifth($0)) * 0.25 + 1 })
    }

    @Test func q8_0() throws {
        let qs = Self.pseudoRandom(32, seed: 5)
        let values = try roundTrip(type: .q8_0, elements: 32, block: Self.f16(0.125) + qs)
        #expect(values == qs.map { Float(Int8(bitPattern: $0)) * 0.125 })
    }

    /// Packs eight 6-bit (scale, min) pairs the way K-quants store them in 12 bytes: pairs 0–3 in the
    /// low 6 bits of bytes 0–3 (scales) and 4–7 (mins); pairs 4–7 as nibbles in bytes 8–11 with their
    /// top two bits in the spare high bits of bytes 0–3 (scales) and 4–7 (mins).
    static func packScales(_ scales: [UInt8], _ mins: [UInt8]) -> [UInt8] {
        var packed = [UInt8](repeating: 0, count: 12)
        for s in 0 ..< 4 {
            packed[s] = scales[s] | (scales[s + 4] >> 4) << 6
            packed[s + 4] = mins[s] | (mins[s + 4] >> 4) << 6
            packed[s + 8] = (scales[s + 4] & 0xF) | (mins[s + 4] & 0xF) << 4
        }
        return packed
    }

    static let kScales: [UInt8] = [1, 7, 13, 63, 17, 33, 48, 62]
    static let kMins: [UInt8] = [0, 5, 63, 2, 16, 47, 31, 60]

    @Test func scaleMinUnpacksWhatPackScalesPacked() {
        let packed = Self.packScales(Self.kScales, Self.kMins)
        packed.withUnsafeBytes { bytes in
            for s in 0 ..< 8 { #expect(GGUFDequantize.scaleMin(s, bytes) == (Self.kScales[s], Self.kMins[s])) }
        }
    }

    /// Q4_K element e: sub-block s = e / 32 (scale, min); byte 32·(e / 64) + e % 32 of qs, low nibble
    /// for the first 32 of each 64, high nibble for the second.
    @Test func q4_K() throws {
        let qs = Self.pseudoRandom(128, seed: 6)
        let block = Self.f16(0.5) + Self.f16(0.25) + Self.packScales(Self.kScales, Self.kMins) + qs
        let values = try roundTrip(type: .q4_K, elements: 256, block: block)
        let expected = (0 ..< 256).map { e -> Float in
            let byte = qs[32 * (e / 64) + e % 32]
            let q = e % 64 < 32 ? byte & 0xF : byte >> 4
            let s = e / 32
            return 0.5 * Float(Self.kScales[s]) * Float(q) - 0.25 * Float(Self.kMins[s])
        }
        #expect(values == expected)
    }

    /// Q5_K: as Q4_K, plus bit s (the sub-block) of qh[e % 32] as the 5th bit.
    @Test func q5_K() throws {
        let qs = Self.pseudoRandom(128, seed: 7), qh = Self.pseudoRandom(32, seed: 8)
        let block = Self.f16(0.25) + Self.f16(0.5) + Self.packScales(Self.kScales, Self.kMins) + qh + qs
        let values = try roundTrip(type: .q5_K, elements: 256, block: block)
        let expected = (0 ..< 256).map { e -> Float in
            let byte = qs[32 * (e / 64) + e % 32]
            let s = e / 32
            let q = Int(e % 64 < 32 ? byte & 0xF : byte >> 4) + Int(qh[e % 32] >> s & 1) * 16
            return 0.25 * Float(Self.kScales[s]) * Float(q) - 0.5 * Float(Self.kMins[s])
        }
        #expect(values == expected)
    }

    /// Q6_K element e, in half h = e / 128 and quarter k = (e % 128) / 32, lane l = e % 32: low 4 bits
    /// from ql[64h + l + 32·(k odd)] (low nibble for k < 2), high 2 bits from bits 2k…2k+1 of
    /// qh[32h + l]; scale = scales[e / 16] (int8); value = d · scale · (q − 32).
    @Test func q6_K() throws {
        let ql = Self.pseudoRandom(128, seed: 9), qh = Self.pseudoRandom(64, seed: 10)
        let scales: [Int8] = [1, -2, 3, -4, 5, 127, -128, 8, 9, -10, 11, 12, -13, 14, 15, -16]
        let block = ql + qh + scales.map { UInt8(bitPattern: $0) } + Self.f16(0.0625)
        let values = try roundTrip(type: .q6_K, elements: 256, block: block)
        let expected = (0 ..< 256).map { e -> Float in
            let h = e / 128, k = (e % 128) / 32, l = e % 32
            let low = ql[64 * h + l + 32 * (k % 2)]
            let q = Int(k < 2 ? low & 0xF : low >> 4) | Int(qh[32 * h + l] >> (2 * k) & 3) << 4
            return 0.0625 * Float(scales[e / 16]) * Float(q - 32)
        }
        #expect(values == expected)
    }

    @Test func severalBlocksAndRowsDecodeInOrder() throws {
        // Two Q4_0 rows of two blocks each: block b has scale b + 1.
        var writer = GGUFWriterForTests()
        let qs = (0 ..< 4).map { Self.pseudoRandom(16, seed: 20 + UInt32($0)) }
        writer.add("w", ne: [64, 2], type: GGMLType.q4_0.rawValue, data: (0 ..< 4).flatMap { Self.f16(Float16($0 + 1)) + qs[$0] })
        let url = FileManager.default.temporaryDirectory.appending(path: "vacekit-dq-\(UUID().uuidString).gguf")
        try Data(writer.serialized()).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try GGUFFile(url: url)
        #expect(file.entry("w")?.shape == [2, 64])
        #expect(try file.floats("w") == (0 ..< 128).map { Float(Self.nibble32(qs[$0 / 32], $0 % 32) - 8) * Float($0 / 32 + 1) })
    }
}
