import BackendConformance
import CKernels
import Foundation
import Tensors
import Testing

/// The CKernels vector math (exp, GELU-tanh, SiLU, broadcast rows, row norms) at every level this CPU
/// runs (portable always, so the fallback is checked everywhere) against float64.
@Suite struct VectorMathTests {
    static let levels: [Int32] = vk_vector_level(Int32(vk_level_avx2)) == Int32(vk_level_avx2)
        ? [Int32(vk_level_portable), Int32(vk_level_avx2)] : [Int32(vk_level_portable)]
    static let lnMin = -87.33654475, lnMax = 88.72283905

    /// A dense sweep over and past the whole f32 range of exp, random bit patterns (huge magnitudes,
    /// denormals) and the special values.
    static let expInputs: [Float] = {
        var random = SeededRandom(seed: 11)
        let sweep = stride(from: -110 as Float, through: 100, by: 0.000_7)
        let patterns = (0 ..< 100_000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: random.next())) }.filter { !$0.isNaN }
        let special: [Float] = [0, -0, .infinity, -.infinity, .nan, Float(lnMin), Float(lnMin).nextDown, Float(lnMin).nextUp,
                                Float(lnMax), Float(lnMax).nextDown, Float(lnMax).nextUp, 88, 88.5, -87, -104, 1e-30, -1e-30,
                                .leastNormalMagnitude, -.greatestFiniteMagnitude, .greatestFiniteMagnitude]
        return Array(sweep) + patterns + special
    }()

    static func map(_ input: [Float], _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> [Float] {
        var out = [Float](repeating: .nan, count: input.count)
        input.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { y in kernel(x.baseAddress!, y.baseAddress!, x.count) } }
        return out
    }

    @Test(arguments: levels)
    func expIsAccurateOverTheWholeRange(level: Int32) {
        let x = Self.expInputs
        let y = Self.map(x) { vk_exp_f32($0, $1, $2, level) }
        var worst = 0.0, worstAt: Float = 0
        for (x, y) in zip(x, y) {
            if x.isNaN { #expect(y.isNaN); continue }
            #expect(y.isFinite && y >= 0, "exp(\(x)) = \(y)")
            if Double(x) < Self.lnMin {
                #expect(y == 0, "exp(\(x)) = \(y): below ln(FLT_MIN) must be 0")
            } else if Double(x) > Self.lnMax {
                #expect(y >= 3.4e38, "exp(\(x)) = \(y): saturates near FLT_MAX")
            } else {
                let reference = Foundation.exp(Double(x)), error = abs(Double(y) - reference) / reference
                if error > worst { (worst, worstAt) = (error, x) }
            }
        }
        print("exp level \(level): max relative error \(worst) at x = \(worstAt) over \(x.count) inputs")
        #expect(worst < 2.5e-7, "max relative error \(worst) at x = \(worstAt)")
    }

    /// The softmax's 2^x (x ≤ 0; small positive residues of s − max rounding included): a dense sweep,
    /// random magnitudes and the edges.
    @Test(arguments: levels)
    func exp2ForTheSoftmaxIsAccurate(level: Int32) {
        var random = SeededRandom(seed: 13)
        let x: [Float] = Array(stride(from: -200 as Float, through: 0, by: 0.000_5)) + random.values(100_000, scale: 130)
            .map { -abs($0) } + [0, -0, 1e-7, 1e-3, 0.5, -126, Float(-126).nextDown, Float(-126).nextUp, -1e-30, -.infinity, -1e30, .nan]
        let y = Self.map(x) { vk_exp2_nonpositive_f32($0, $1, $2, level) }
        var worst = 0.0, worstAt: Float = 0
        for (x, y) in zip(x, y) {
            if x.isNaN { #expect(y.isNaN); continue }
            #expect(y.isFinite && y >= 0, "2^\(x) = \(y)")
            if x < -126 { #expect(y == 0, "2^\(x) = \(y): below −126 must be 0"); continue }
            let reference = Foundation.exp2(Double(x)), error = abs(Double(y) - reference) / reference
            if error > worst { (worst, worstAt) = (error, x) }
        }
        print("exp2 (softmax) level \(level): max relative error \(worst) at x = \(worstAt) over \(x.count) inputs")
        #expect(worst < 2e-7, "max relative error \(worst) at x = \(worstAt)")
    }

    /// Lengths 0…17 write exactly n outputs (vector body, masked tail).
    @Test(arguments: levels)
    func tailsWriteOnlyTheirLength(level: Int32) {
        for n in 0 ... 17 {
            let input = (0 ..< 24).map { Float($0) * 0.25 - 3 }
            var out = [Float](repeating: -7, count: 24)
            input.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { y in
                    vk_exp_f32(x.baseAddress!, y.baseAddress!, n, level)
                    vk_gelu_tanh_f32(x.baseAddress!, y.baseAddress! + 8, 0, level)
                }
            }
            for i in 0 ..< 24 {
                if i < n { #expect(abs(Double(out[i]) - Foundation.exp(Double(input[i]))) <= 3e-7 * Foundation.exp(Double(input[i]))) }
                else { #expect(out[i] == -7, "n = \(n): element \(i) written") }
            }
        }
    }

    /// GELU-tanh and SiLU against float64. Error is measured against max(|y|, 1e-3·|v|): where y is
    /// tiny (large negative v, y ≈ v·e^(−|arg|)) the f32 rounding of the argument itself moves y by
    /// |arg|·ulp relative, which no implementation avoids, and is irrelevant next to v.
    @Test(arguments: levels)
    func activationsMatchFloat64(level: Int32) {
        var random = SeededRandom(seed: 5)
        let x: [Float] = Array(stride(from: -60 as Float, through: 60, by: 0.001)) + random.values(50_000, scale: 4)
            + [0, -0, 1e-20, -1e-20, 1e4, -1e4, 3e38, -3e38]
        let gelu = Self.map(x) { vk_gelu_tanh_f32($0, $1, $2, level) }, silu = Self.map(x) { vk_silu_f32($0, $1, $2, level) }
        var worst = (gelu: 0.0, silu: 0.0)
        for i in x.indices {
            let v = Double(x[i])
            let g = 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))), s = v / (1 + Foundation.exp(-v))
            #expect(gelu[i].isFinite && silu[i].isFinite, "v = \(v): gelu \(gelu[i]), silu \(silu[i])")
            if gelu[i].isFinite, g.isFinite { worst.gelu = max(worst.gelu, abs(Double(gelu[i]) - g) / max(abs(g), 1e-3 * abs(v), 1e-30)) }
            if silu[i].isFinite, s.isFinite { worst.silu = max(worst.silu, abs(Double(silu[i]) - s) / max(abs(s), 1e-3 * abs(v), 1e-30)) }
        }
        print("level \(level): geluTanh max error \(worst.gelu), silu \(worst.silu)")
        #expect(worst.gelu < 1e-6 && worst.silu < 1e-6)
        let nan = Self.map([.nan]) { vk_gelu_tanh_f32($0, $1, $2, level) }
        #expect(nan[0].isNaN)
    }

    /// modulate and gated residual, each operand a row (step 1) or one broadcast value (step 0), lengths
    /// with and without a vector tail.
    @Test(arguments: levels)
    func broadcastRowsMatchFloat64(level: Int32) {
        var random = SeededRandom(seed: 9)
        for n in [1, 7, 8, 37, 1536] {
            let (a, b, c) = (random.values(n, scale: 3), random.values(n), random.values(n))
            for steps in [(1, 1, 1), (1, 0, 1), (1, 1, 0), (1, 0, 0), (0, 1, 0)] {
                var modulated = [Float](repeating: .nan, count: n), gated = modulated
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        c.withUnsafeBufferPointer { c in
                            vk_modulate_row_f32(a.baseAddress!, b.baseAddress!, steps.1, c.baseAddress!, steps.2, &modulated, n, level)
                            vk_gated_residual_row_f32(a.baseAddress!, steps.0, b.baseAddress!, steps.1, c.baseAddress!, steps.2, &gated, n, level)
                        }
                    }
                }
                for j in 0 ..< n {
                    let (aj, bj, cj) = (Double(a[j * steps.0]), Double(b[j * steps.1]), Double(c[j * steps.2]))
                    let m = Double(a[j]) * (1 + bj) + cj, g = aj + cj * bj
                    #expect(abs(Double(modulated[j]) - m) <= 1e-6 * (abs(Double(a[j]) * (1 + bj)) + abs(cj)), "modulate n \(n) steps \(steps) at \(j)")
                    #expect(abs(Double(gated[j]) - g) <= 1e-6 * (abs(aj) + abs(cj * bj)), "gatedResidual n \(n) steps \(steps) at \(j)")
                }
            }
        }
    }

    /// LayerNorm and RMSNorm in f32 against float64: widths with tails, affine or not, and rows whose
    /// mean is 500 × their spread (where a one-pass or uncorrected f32 mean would lose digits).
    @Test(arguments: levels)
    func rowNormsMatchFloat64(level: Int32) throws {
        var random = SeededRandom(seed: 3)
        for n in [1, 7, 37, 64, 1536, 3001] {
            let rows = 3
            for offset: Float in [0.7, 500] {
                let x = random.values(rows * n, scale: 2).map { $0 + offset }, w = random.values(n), b = random.values(n)
                var layer = [Float](repeating: .nan, count: x.count), rms = layer
                x.withUnsafeBufferPointer { x in
                    w.withUnsafeBufferPointer { w in
                        b.withUnsafeBufferPointer { b in
                            vk_layer_norm_rows_f32(x.baseAddress!, &layer, rows, n, w.baseAddress!, b.baseAddress!, 1e-6, level)
                            vk_rms_norm_rows_f32(x.baseAddress!, &rms, rows, n, w.baseAddress!, 1e-6, level)
                        }
                    }
                }
                let doubles = x.map(Double.init), (wd, bd) = (w.map(Double.init), b.map(Double.init))
                let layerError = try ErrorMetric.compare(layer, Reference.rowNorm(doubles, width: n, rms: false, weight: wd, bias: bd, eps: 1e-6)).relativeL2
                let rmsError = try ErrorMetric.compare(rms, Reference.rowNorm(doubles, width: n, rms: true, weight: wd, bias: nil, eps: 1e-6)).relativeL2
                // At offset 500 an f32 mean alone would be off by up to ulp(500) / 2 ≈ 1.3e-5 of the spread.
                #expect(layerError < 1e-6 && rmsError < 1e-6, "n \(n) offset \(offset): layerNorm \(layerError), rmsNorm \(rmsError)")
                if n == 1536 { print("level \(level) n \(n) offset \(offset): layerNorm relL2 \(layerError), rmsNorm \(rmsError)") }
            }
        }
    }
}
