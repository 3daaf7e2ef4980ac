import CKernels
import Tensors
import Testing
@testable import CPUBackend

/// QuantizedMatmul (CKernels) against a float64 reference built from the dequantized weights, on odd
/// shapes, for every kernel level this CPU has (portable always, so the fallback is checked everywhere).
@Suite struct QuantizedMatmulTests {
    struct Case: Sendable, CustomStringConvertible {
        let m: Int, n: Int, k: Int, group: Int
        var description: String { "M=\(m) N=\(n) K=\(k) G=\(group)" }
    }

    static let cases: [Case] = [
        Case(m: 1, n: 17, k: 96, group: 32),
        Case(m: 7, n: 33, k: 100, group: 0),     // K not a multiple of 4 or 64, one scale per row
        Case(m: 33, n: 17, k: 160, group: 32),
        Case(m: 33, n: 70, k: 300, group: 0),
        Case(m: 9, n: 40, k: 512, group: 128),
        Case(m: 13, n: 48, k: 1024, group: 64),  // several k blocks of 256
        Case(m: 3, n: 40, k: 384, group: 384),   // group == K written out
        Case(m: 3, n: 35, k: 16402, group: 0),   // W8A8 on AVX-512: past its 16384-k block, odd tail
        Case(m: 8, n: 20, k: 2600, group: 0),    // AVX2: two 1024-k blocks and a 552 tail, one scale per row
    ]

    /// Levels to check: the portable fallback, and every faster level the CPU runs.
    static var levels: [CPUKernelLevel] { [.portable, .avx2, .avx512] }

    @Test(arguments: cases, levels)
    func q8MatchesFloat64Reference(shape: Case, cap: CPUKernelLevel) throws {
        let weight = RandomQ8(rows: shape.n, columns: shape.k, group: shape.group, seed: UInt64(shape.m * 7919 + shape.k))
        let x = randomMatrix(shape.m * shape.k, seed: 11)
        let bias = randomMatrix(shape.n, seed: 12)
        for mode in [QuantizedMatmul.Mode.w8a8, .w8a16] {
            let (error, level) = try weight.withMatmul(cap: cap) { matmul in
                (try ErrorMetric.compare(matmul.applied(x, m: shape.m, bias: bias, mode: mode),
                            reference(x, m: shape.m, weight: weight.dequantized, n: shape.n, k: shape.k, bias: bias)).relativeL2,
                 matmul.kernelLevel(mode: mode))
            }
            #expect(level <= cap)
            if cap == .portable { #expect(level == .portable) }
            // bf16 activations: ~2^-9 relative per element; int8 activations: ~1/(127·√12) of the row max.
            let bound = mode == .w8a8 ? 2e-2 : 5e-3
            #expect(error <= bound, "\(shape) \(mode) at \(level): relative L2 \(error)")
        }
    }

    @Test(arguments: [CPUKernelLevel.portable, .avx2, .avx512])
    func sixteenBitWeightsMatchReference(cap: CPUKernelLevel) throws {
        let (m, n, k) = (21, 37, 300)
        let source = randomMatrix(n * k, seed: 5)
        let x = randomMatrix(m * k, seed: 6)
        let bf16 = source.map { bf16Bits($0) }, f16 = source.map { Float16($0).bitPattern }
        for (bits, widen, isBF16) in [(bf16, { (b: UInt16) in Float(bitPattern: UInt32(b) << 16) }, true),
                                      (f16, { (b: UInt16) in Float(Float16(bitPattern: b)) }, false)] {
            let exact = bits.map { Double(widen($0)) }
            let y = try bits.withUnsafeBytes { raw in
                let matmul = try QuantizedMatmul(isBF16 ? .bf16(raw) : .f16(raw), rows: n, columns: k, kernelLevel: cap)
                return matmul.applied(x, m: m, bias: nil, mode: .w8a16)
            }
            let error = try ErrorMetric.compare(y, reference(x, m: m, weight: exact, n: n, k: k, bias: nil)).relativeL2
            // bf16 weights may meet bf16-rounded activations (AVX512_BF16); f16 weights always run in f32.
            #expect(error <= (isBF16 ? 5e-3 : 1e-5), "\(isBF16 ? "bf16" : "f16") at cap \(cap): \(error)")
        }
    }

    /// The largest sums the kernels can meet: every activation at the row maximum (int16 ±32767 on
    /// AVX2 W8A16) against weights of ±127 of the same sign, one scale per row, over blocks of 1024 k and
    /// more. An int32 sum kept past 256 k of such products wraps around and changes the sign of the result.
    @Test(arguments: [CPUKernelLevel.portable, .avx2, .avx512], [1024, 2600])
    func largestSumsDoNotOverflow(cap: CPUKernelLevel, k: Int) throws {
        let (m, n) = (6, 16)
        var weight = RandomQ8(rows: n, columns: k, group: 0, seed: 5)
        var x = [Float](repeating: 0, count: m * k)
        for i in 0 ..< m * k { x[i] = (i / k) % 2 == 0 ? 1 : -1 }
        for i in 0 ..< n * k { weight.values[i] = (i / k) % 3 == 0 ? -127 : 127 }
        let expected = reference(x, m: m, weight: weight.dequantized, n: n, k: k, bias: nil)
        for mode in [QuantizedMatmul.Mode.w8a8, .w8a16] {
            let y = try weight.withMatmul(cap: cap) { $0.applied(x, m: m, bias: nil, mode: mode) }
            // Activations of ±1 quantize exactly: only f32 rounding is left (the f32 paths sum 1024+ equal
            // terms in order); a wrapped int32 sum is off by ~100%.
            let error = try ErrorMetric.compare(y, expected).relativeL2
            #expect(error <= 1e-5, "\(mode) at cap \(cap), K = \(k): relative L2 \(error)")
        }
    }

    /// A kernel that applied the wrong group's scale (or none) would still pass loose bounds on
    /// uniform scales; with one group's scale doubled, the output must follow the reference that has
    /// it doubled, and move far away from the one that does not.
    @Test(arguments: [CPUKernelLevel.portable, .avx512], [32, 0])
    func oneScaleChangeMovesTheOutput(cap: CPUKernelLevel, group: Int) throws {
        let (m, n, k) = (9, 33, 256)
        var weight = RandomQ8(rows: n, columns: k, group: group, seed: 99)
        let x = randomMatrix(m * k, seed: 3)
        let before = reference(x, m: m, weight: weight.dequantized, n: n, k: k, bias: nil)
        let groups = group == 0 ? 1 : k / group
        let row = 20, chosen = groups - 1
        weight.setScale(row: row, group: chosen, to: 2 * weight.scale(row: row, group: chosen))
        let after = reference(x, m: m, weight: weight.dequantized, n: n, k: k, bias: nil)
        for mode in [QuantizedMatmul.Mode.w8a8, .w8a16] {
            let y = try weight.withMatmul(cap: cap) { $0.applied(x, m: m, bias: nil, mode: mode) }
            let column = { (v: [Double]) in (0 ..< m).map { v[$0 * n + row] } }
            let bound = mode == .w8a8 ? 2e-2 : 5e-3
            #expect(try ErrorMetric.compare(column(y), column(after)).relativeL2 <= bound, "\(mode) misses the changed scale")
            #expect(try ErrorMetric.compare(column(y), column(before)).relativeL2 > 10 * bound, "\(mode) ignores the changed scale")
            // The other columns keep their values.
            let others = { (v: [Double]) in (0 ..< m * n).filter { $0 % n != row }.map { v[$0] } }
            #expect(try ErrorMetric.compare(others(y), others(after)).relativeL2 <= bound)
        }
    }

    /// The fast W8A8 kernels quantize activations exactly as the portable one does, so they differ only
    /// by f32 summation order; and the split over threads does not change a single bit.
    @Test func fastPathAgreesWithPortableAndThreadCountDoesNotMatter() throws {
        let (m, n, k, group) = (50, 130, 640, 64)
        let weight = RandomQ8(rows: n, columns: k, group: group, seed: 7)
        let x = randomMatrix(m * k, seed: 8), bias = randomMatrix(n, seed: 9)
        let portable = try weight.withMatmul(cap: .portable) { $0.applied(x, m: m, bias: bias, mode: .w8a8) }
        let single = GEMMWorkspace()
        single.threads = 1
        let many = GEMMWorkspace()
        many.threads = 3
        try weight.withMatmul(cap: .avx512) { matmul in
            let one = matmul.applied(x, m: m, bias: bias, mode: .w8a8, workspace: single)
            let three = matmul.applied(x, m: m, bias: bias, mode: .w8a8, workspace: many)
            #expect(one == three)
            #expect(((try? ErrorMetric.compare(one, portable))?.relativeL2 ?? .infinity) <= 1e-6, "\(matmul.kernelDescription(mode: .w8a8)) vs portable")
        }
    }

    /// VACEKIT_CPU_KERNELS caps the default level (run the suite with =portable to take the fallback
    /// everywhere).
    @Test func environmentCapsTheDefaultLevel() throws {
        let weight = RandomQ8(rows: 4, columns: 64, group: 32, seed: 1)
        try weight.withMatmul(cap: .environment) { matmul in
            #expect(matmul.kernelLevel(mode: .w8a8) <= CPUKernelLevel.environment)
            #expect(matmul.kernelLevel(mode: .w8a16) <= CPUKernelLevel.environment)
        }
    }

    @Test func rejectsInconsistentWeights() {
        let values = [Int8](repeating: 1, count: 6 * 10), scales = [UInt16](repeating: 0x3c00, count: 6 * 2)
        values.withUnsafeBytes { v in
            scales.withUnsafeBytes { s in
                #expect(throws: QuantizedMatmulError.self) { try QuantizedMatmul(.q8(values: v, scales: s, group: 3), rows: 6, columns: 10) }
                #expect(throws: QuantizedMatmulError.self) { try QuantizedMatmul(.q8(values: v, scales: s, group: 0), rows: 6, columns: 10) }
                #expect(throws: QuantizedMatmulError.self) { try QuantizedMatmul(.q8(values: v, scales: s, group: 5), rows: 5, columns: 10) }
                #expect(throws: Never.self) { try QuantizedMatmul(.q8(values: v, scales: s, group: 5), rows: 6, columns: 10) }
            }
        }
    }
}

// MARK: - Helpers

/// A q8 weight as the .vkq file stores it: int8 values in ±127 and f16 scales per (row, group).
fileprivate struct RandomQ8 {
    let rows: Int, columns: Int, group: Int
    var values: [Int8]
    var scales: [UInt16]

    init(rows: Int, columns: Int, group: Int, seed: UInt64) {
        self.rows = rows
        self.columns = columns
        self.group = group
        var rng = SplitMix64(seed: seed)
        values = (0 ..< rows * columns).map { _ in Int8((rng.nextFloat() * 127).rounded()) }
        let groups = group == 0 ? 1 : columns / group
        scales = (0 ..< rows * groups).map { _ in Float16(0.004 + 0.012 * abs(rng.nextFloat())).bitPattern }
    }

    var groupsPerRow: Int { group == 0 ? 1 : columns / group }
    func scale(row: Int, group g: Int) -> Float { Float(Float16(bitPattern: scales[row * groupsPerRow + g])) }
    mutating func setScale(row: Int, group g: Int, to value: Float) { scales[row * groupsPerRow + g] = Float16(value).bitPattern }

    /// q · scale in float64, [rows, columns].
    var dequantized: [Double] {
        let g = group == 0 ? columns : group
        return (0 ..< rows * columns).map { i in
            Double(values[i]) * Double(scale(row: i / columns, group: (i % columns) / g))
        }
    }

    func withMatmul<R>(cap: CPUKernelLevel, _ body: (QuantizedMatmul) throws -> R) throws -> R {
        try values.withUnsafeBytes { v in
            try scales.withUnsafeBytes { s in
                try body(QuantizedMatmul(.q8(values: v, scales: s, group: group), rows: rows, columns: columns, kernelLevel: cap))
            }
        }
    }
}

fileprivate extension QuantizedMatmul {
    /// apply() on arrays, the result widened to Double.
    func applied(_ x: [Float], m: Int, bias: [Float]?, mode: Mode, workspace: GEMMWorkspace = .shared) -> [Double] {
        var out = [Float](repeating: .nan, count: m * outFeatures)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                if let bias {
                    bias.withUnsafeBufferPointer { apply(x: xp.baseAddress!, m: m, bias: $0.baseAddress, out: op.baseAddress!, mode: mode, workspace: workspace) }
                } else {
                    apply(x: xp.baseAddress!, m: m, bias: nil, out: op.baseAddress!, mode: mode, workspace: workspace)
                }
            }
        }
        return out.map(Double.init)
    }
}

fileprivate func randomMatrix(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0 ..< count).map { _ in rng.nextFloat() }
}

/// y = x · Wᵀ + bias in float64, W given [n, k].
fileprivate func reference(_ x: [Float], m: Int, weight: [Double], n: Int, k: Int, bias: [Float]?) -> [Double] {
    var y = [Double](repeating: 0, count: m * n)
    for i in 0 ..< m {
        for j in 0 ..< n {
            var sum = bias.map { Double($0[j]) } ?? 0
            for p in 0 ..< k { sum += Double(x[i * k + p]) * weight[j * k + p] }
            y[i * n + j] = sum
        }
    }
    return y
}

/// f32 → bf16 bits, round to nearest even.
fileprivate func bf16Bits(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
}

/// The automatic q8 mode: int8 activations only where VNNI makes them pay.
@Suite struct AutomaticQ8ModeTests {
    @Test func w8a8OnlyWithVNNIAndTheAVX512Cap() {
        let vnni = UInt32(vk_cpu_avx2 | vk_cpu_fma | vk_cpu_f16c | vk_cpu_avx512f | vk_cpu_avx512bw | vk_cpu_avx512vnni)
        let avx2Only = UInt32(vk_cpu_avx2 | vk_cpu_fma | vk_cpu_f16c)
        let bf16NoVNNI = UInt32(vk_cpu_avx2 | vk_cpu_fma | vk_cpu_avx512f | vk_cpu_avx512bw | vk_cpu_avx512bf16)
        #expect(QuantizedMatmul.Mode.automatic(cap: .avx512, features: vnni) == .w8a8)
        #expect(QuantizedMatmul.Mode.automatic(cap: .avx2, features: vnni) == .w8a16)
        #expect(QuantizedMatmul.Mode.automatic(cap: .avx512, features: avx2Only) == .w8a16)
        #expect(QuantizedMatmul.Mode.automatic(cap: .avx512, features: bf16NoVNNI) == .w8a16)
    }
}
