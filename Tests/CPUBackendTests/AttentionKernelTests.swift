import BackendConformance
import CKernels
import Foundation
import Testing
import Tensors
@testable import CPUBackend

/// CPU attention against the float64 reference on shapes that hit every edge of the kernels: query
/// blocks (96) and 6-row tiles with tails, key tiles (256) and 16-key panels with tails, head dims
/// that are not multiples of 16, key masks (including a batch with every key masked), and scores
/// large enough that the online softmax has to rescale. Each case runs the fused AVX2 kernel (when
/// the CPU has it), the BLAS + C-softmax path, and the fused kernel's portable tiles.
@Suite struct AttentionKernelTests {
    struct Case: Sendable, CustomStringConvertible {
        enum Mask: Sendable { case none, prefix, alternate, noneKept }
        let batches: Int, nq: Int, nk: Int, heads: Int, d: Int, mask: Mask, scale: Float
        init(_ batches: Int, _ nq: Int, _ nk: Int, _ heads: Int, _ d: Int, _ mask: Mask = .none, scale: Float = 1) {
            (self.batches, self.nq, self.nk, self.heads, self.d, self.mask, self.scale) = (batches, nq, nk, heads, d, mask, scale)
        }
        var description: String { "B\(batches) \(nq)×\(nk) \(heads)h×\(d) mask \(mask) scale \(scale)" }

        /// 1 = attend. Batch 0 and 1 differ so that per-batch key counts are exercised.
        func maskValues() -> [Float]? {
            switch mask {
            case .none: nil
            case .prefix: (0 ..< batches * nk).map { i in i % nk < (i / nk == 0 ? nk * 3 / 5 : nk / 3 + 1) ? 1 : 0 }
            case .alternate: (0 ..< batches * nk).map { i in (i % nk) % 3 != 1 ? 1 : 0 }
            case .noneKept: (0 ..< batches * nk).map { i in i / nk == 0 ? 0 : (i % 2 == 0 ? 1 : 0) }
            }
        }
    }

    static let cases = [
        Case(1, 1, 1, 1, 16),
        Case(1, 7, 5, 2, 8),                     // d < 16: v padded to one 16-column tile
        Case(2, 100, 300, 3, 72),                // d = 72: 4.5 column tiles; 2 query blocks, 2 key tiles
        Case(1, 200, 530, 2, 128, scale: 3),     // Wan's head dim, 3 key tiles, scores of tens: rescaling
        Case(1, 97, 40, 4, 64, .prefix),         // LTX-like masked cross-attention
        Case(2, 50, 300, 2, 64, .alternate),     // kept keys spread over the tiles
        Case(2, 13, 33, 2, 32, .noneKept),       // batch 0 attends to nothing: output 0
    ]

    /// q, k and v of a case, seeded by its sizes.
    static func operands(_ c: Case) -> (q: [Float], k: [Float], v: [Float]) {
        var random = SeededRandom(seed: UInt64(c.nq * 7919 + c.nk * 31 + c.d))
        let width = c.heads * c.d
        let q = random.values(c.batches * c.nq * width, scale: c.scale), k = random.values(c.batches * c.nk * width, scale: c.scale)
        return (q, k, random.values(c.batches * c.nk * width))
    }

    static let fusedLevels: [Int32] = vk_vector_level(Int32(vk_level_avx2)) == Int32(vk_level_avx2)
        ? [Int32(vk_level_portable), Int32(vk_level_avx2)] : [Int32(vk_level_portable)]

    @Test(arguments: cases)
    func matchesFloat64(_ c: Case) throws {
        let backend = CPUBackend()
        let width = c.heads * c.d
        let (q, k, v) = Self.operands(c)
        let mask = c.maskValues()
        let expected = Reference.attention(q: q.map(Double.init), k: k.map(Double.init), v: v.map(Double.init), batches: c.batches,
                                           nq: c.nq, nk: c.nk, width: width, heads: c.heads, mask: mask.map { $0.map(Double.init) })
        let (qt, kt, vt) = (try backend.tensor(q, [c.batches, c.nq, width]), try backend.tensor(k, [c.batches, c.nk, width]),
                            try backend.tensor(v, [c.batches, c.nk, width]))
        let mt = try mask.map { try backend.tensor($0, [c.batches, c.nk]) }
        var results: [(String, [Float])] = []
        for level in Self.fusedLevels {
            let out = try backend.attention(q: qt, k: kt, v: vt, heads: c.heads, keyMask: mt, level: level)
            results.append((level == Int32(vk_level_avx2) ? "fused avx2" : "blas + c softmax", try backend.floats(out)))
        }
        results.append(("fused portable tiles", Self.fused(q, k, v, mask, c, level: Int32(vk_level_portable))))
        for (path, actual) in results {
            let (relative, worst) = Self.errors(actual, expected)
            print("attention \(c) \(path): relative L2 \(relative), max |Δ| \(worst)")
            #expect(relative < 1e-5, "\(c) \(path): relative L2 \(relative), max |Δ| \(worst)")
            if c.mask == .noneKept { #expect(actual[0 ..< c.nq * width].allSatisfy { $0 == 0 }, "\(c) \(path): fully masked batch") }
        }
    }

    /// The bf16 kernel (AVX-512 BF16 CPUs only) against two references: the exact one, and one whose q, k
    /// and v were rounded to bf16 first, which leaves only the kernel's own rounding of the softmax
    /// weights. The first bound is what a bf16 attention can reach; the second is tight enough that a
    /// misplaced pair, a lost key tile or an unrescaled accumulator fails it.
    @Test(.enabled(if: CPUBackend.bf16AttentionAvailable, "needs AVX-512 BF16"), arguments: cases)
    func bf16KernelMatchesRoundedReference(_ c: Case) throws {
        let backend = CPUBackend()
        let width = c.heads * c.d
        let (q, k, v) = Self.operands(c)
        let mask = c.maskValues()
        func reference(_ round: (Float) -> Float) -> [Double] {
            Reference.attention(q: q.map { Double(round($0)) }, k: k.map { Double(round($0)) }, v: v.map { Double(round($0)) },
                                batches: c.batches, nq: c.nq, nk: c.nk, width: width, heads: c.heads, mask: mask.map { $0.map(Double.init) })
        }
        let (qt, kt, vt) = (try backend.tensor(q, [c.batches, c.nq, width]), try backend.tensor(k, [c.batches, c.nk, width]),
                            try backend.tensor(v, [c.batches, c.nk, width]))
        let mt = try mask.map { try backend.tensor($0, [c.batches, c.nk]) }
        let actual = try backend.floats(try backend.attention(q: qt, k: kt, v: vt, heads: c.heads, keyMask: mt, precision: .bf16))
        let exact = Self.errors(actual, reference { $0 }), rounded = Self.errors(actual, reference(Self.bf16))
        print("attention \(c) bf16: relative L2 \(exact.relative) to exact, \(rounded.relative) to bf16-rounded inputs")
        #expect(exact.relative < 1e-2, "\(c): relative L2 \(exact.relative) to the exact attention")
        #expect(rounded.relative < 2e-3, "\(c): relative L2 \(rounded.relative) to the bf16-rounded inputs' attention")
        if c.mask == .noneKept { #expect(actual[0 ..< c.nq * width].allSatisfy { $0 == 0 }, "\(c): fully masked batch") }
        if c.mask == .none, c.nk >= 256 {
            // The bound can tell: the attention without its last key (one of ≥ 256) lies outside it.
            let dropped = Reference.attention(q: q.map { Double(Self.bf16($0)) }, k: k.map { Double(Self.bf16($0)) },
                                              v: v.map { Double(Self.bf16($0)) }, batches: c.batches, nq: c.nq, nk: c.nk, width: width,
                                              heads: c.heads, mask: (0 ..< c.batches * c.nk).map { $0 % c.nk == c.nk - 1 ? 0 : 1 })
            let missing = Self.errors(actual, dropped).relative
            print("attention \(c) bf16: relative L2 \(missing) to the attention without its last key")
            #expect(missing > 2e-3, "\(c): a key dropped is within the bound (\(missing))")
        }
    }

    /// `precision: .f32` keeps the f32 kernel's accuracy whatever the CPU has.
    @Test func f32PrecisionIsNotRounded() throws {
        let c = Self.cases[3], backend = CPUBackend()
        var random = SeededRandom(seed: 5)
        let width = c.heads * c.d
        let q = random.values(c.nq * width, scale: c.scale), k = random.values(c.nk * width, scale: c.scale), v = random.values(c.nk * width)
        let expected = Reference.attention(q: q.map(Double.init), k: k.map(Double.init), v: v.map(Double.init), batches: 1,
                                           nq: c.nq, nk: c.nk, width: width, heads: c.heads, mask: nil)
        let out = try backend.attention(q: try backend.tensor(q, [1, c.nq, width]), k: try backend.tensor(k, [1, c.nk, width]),
                                        v: try backend.tensor(v, [1, c.nk, width]), heads: c.heads, keyMask: nil, precision: .f32)
        #expect(Self.errors(try backend.floats(out), expected).relative < 1e-5)
    }

    /// Round to nearest even at bf16 (8 significant bits), as the kernel rounds its operands.
    static func bf16(_ x: Float) -> Float {
        let bits = x.bitPattern
        return Float(bitPattern: (bits &+ 0x7fff &+ ((bits >> 16) & 1)) & 0xffff_0000)
    }

    /// The C API alone, single-threaded: pack every (batch, head), run every item.
    static func fused(_ q: [Float], _ k: [Float], _ v: [Float], _ mask: [Float]?, _ c: Case, level: Int32) -> [Float] {
        var out = [Float](repeating: .nan, count: q.count)
        let maskCopy = mask ?? []
        q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                v.withUnsafeBufferPointer { v in
                    maskCopy.withUnsafeBufferPointer { m in
                        out.withUnsafeMutableBufferPointer { o in
                            var a = vk_attention(q: q.baseAddress, k: k.baseAddress, v: v.baseAddress, mask: mask == nil ? nil : m.baseAddress,
                                                 out: o.baseAddress, batches: Int32(c.batches), nq: Int32(c.nq), nk: Int32(c.nk),
                                                 heads: Int32(c.heads), d: Int32(c.d), scale: 1 / Float(c.d).squareRoot())
                            var packed = [Float](repeating: .nan, count: vk_attention_packed_floats(&a))
                            let scratch = UnsafeMutableRawPointer.allocate(byteCount: vk_attention_scratch_bytes(&a), alignment: 64)
                            defer { scratch.deallocate() }
                            vk_attention_pack(&a, 0, Int32(c.batches * c.heads), &packed)
                            vk_attention_run(&a, packed, 0, vk_attention_items(&a), level, scratch)
                        }
                    }
                }
            }
        }
        return out
    }

    static func errors(_ actual: [Float], _ expected: [Double]) -> (relative: Double, worst: Double) {
        var diff = 0.0, norm = 0.0, worst = 0.0
        for (a, e) in zip(actual, expected) {
            let d = Double(a) - e
            if !d.isFinite { return (.infinity, .infinity) }
            diff += d * d
            norm += e * e
            worst = max(worst, abs(d))
        }
        return ((diff / max(norm, .leastNormalMagnitude)).squareRoot(), worst)
    }
}
