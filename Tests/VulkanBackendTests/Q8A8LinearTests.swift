import CPUBackend
import Foundation
import Tensors
import Testing
@testable import VulkanBackend

/// The W8A8 linear (quantize_rows.glsl + matmul_q8a8.glsl) against a float64 reference of the
/// dequantized weight times x, on odd shapes: K not a multiple of 4, groups that are not (so rows
/// and groups start mid-word), M and N tails of every tile. Lavapipe has the integer dot product
/// but not accelerated, so W8A8 is asked for explicitly (`q8Mode: .w8a8`).
///
/// The error bound, per output element (m, n). W8A8 replaces x[m][k] by sx·qx[k] with
/// sx = max|x[m]| / 127 and qx = round(x / sx); no value is clamped (|x / sx| ≤ 127), so each
/// activation moves by at most sx / 2. The weight enters exactly as its dequantized value (the int32
/// sums are exact), hence
///     |y − y_ref| ≤ sx / 2 · Σ_k |w[n][k]|  +  f32 rounding  (+ f16 rounding of the output).
/// The f32 part: the ≤ groups + 3 scaling steps round to 2^-24 each, over terms bounded by
/// Σ_k (|x| + sx/2)·|w|; 1e-6 of that covers any group count here. f16 outputs add 2^-11 of |y|.
/// It is a worst case (all rounding errors aligned); typical errors are ~0.6/√K of it. Weights get
/// magnitudes that differ by 16× between groups and activations rows that differ by 15×, so a
/// wrong group or row scale, a dropped tail or a group off by one breaks it (`boundDiscriminates`).
@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct Q8A8LinearTests {
    /// A shape and the weight's group as stored (a group that does not divide K: one scale per row).
    struct Case: CustomTestStringConvertible, Sendable {
        let m: Int, n: Int, k: Int, group: Int
        var effectiveGroup: Int { group == 0 || k % group != 0 ? k : group }
        var testDescription: String { "\(m)×\(k)→\(n) " + (group == 0 ? "per row" : "group \(group)") }
    }

    static let cases = [
        Case(m: 1, n: 5, k: 3, group: 0),
        Case(m: 7, n: 67, k: 3, group: 32),     // group > K: per row
        Case(m: 33, n: 5, k: 36, group: 0),
        Case(m: 7, n: 67, k: 36, group: 32),    // 32 does not divide 36: per row
        Case(m: 33, n: 67, k: 36, group: 12),
        Case(m: 7, n: 5, k: 36, group: 6),      // groups of 1.5 words
        Case(m: 1, n: 67, k: 130, group: 0),
        Case(m: 33, n: 67, k: 130, group: 32),  // per row
        Case(m: 7, n: 67, k: 130, group: 26),   // rows and groups start mid-word
        Case(m: 33, n: 67, k: 96, group: 32),   // three whole groups of 32
    ]

    /// Inputs of one case: x (as the backend stores it), the quantized weight, a bias.
    struct Problem {
        let c: Case
        let x: [Float]
        let weight: WeightBytes
        let bias: WeightBytes?

        init(_ c: Case, half: Bool, bias withBias: Bool, seed: UInt64) {
            self.c = c
            let rowGain: [Float] = [1, 3, 0.2], groupGain: [Float] = [0.25, 1, 4, 0.5]
            let x = pseudoRandomFloats(count: c.m * c.k, seed: seed, range: 1).enumerated().map { $1 * rowGain[$0 / c.k % 3] }
            self.x = half ? x.map { Float(Float16($0)) } : x
            let w = pseudoRandomFloats(count: c.n * c.k, seed: seed + 1, range: 1).enumerated().map { i, v in
                v * groupGain[(i / c.k + i % c.k / c.effectiveGroup) % 4]
            }
            weight = WeightBytes(w, [c.n, c.k], as: .q8(group: c.effectiveGroup == c.k ? 0 : c.effectiveGroup))
            bias = withBias ? WeightBytes(pseudoRandomFloats(count: c.n, seed: seed + 2, range: 2), [c.n], as: .f16) : nil
        }

        /// The weight as stored, with the case's own group (the bytes are per row when it falls back).
        var weightData: WeightData {
            WeightData(name: "w", shape: [c.n, c.k], dtype: .q8(group: c.group), data: weight.data, scales: weight.scales, owner: weight)
        }

        var q: [Int8] { Array(weight.data.bindMemory(to: Int8.self)) }
        var scales: [Float16] { Array(weight.scales!.bindMemory(to: Float16.self)) }

        /// The dequantized weight [n][k] in f64, with `scale(row, group)` for its scales.
        func dequantized(scale: ((Int, Int) -> Double)? = nil) -> [Double] {
            let q = q, scales = scales, groups = c.k / c.effectiveGroup
            return (0 ..< c.n * c.k).map { i in
                let row = i / c.k, g = i % c.k / c.effectiveGroup
                return Double(q[i]) * (scale?(row, g) ?? Double(scales[row * groups + g]))
            }
        }

        /// y = x · Wᵀ + b in f64, the bound on |y − y_ref| of each element (see the suite), and the
        /// f32 rounding part of it.
        func reference(_ w: [Double], halfOutput: Bool) -> (y: [Double], bound: [Double], rounding: [Double]) {
            var y = [Double](repeating: 0, count: c.m * c.n), bound = y, rounding = y
            let b = bias?.values
            for m in 0 ..< c.m {
                let row = x[m * c.k ..< (m + 1) * c.k].map(Double.init)
                let step = (row.map(abs).max() ?? 0) / 127
                for n in 0 ..< c.n {
                    var sum = 0.0, weightL1 = 0.0, magnitude = 0.0
                    for k in 0 ..< c.k {
                        let v = w[n * c.k + k]
                        sum += row[k] * v
                        weightL1 += abs(v)
                        magnitude += (abs(row[k]) + step / 2) * abs(v)
                    }
                    let value = sum + Double(b?[n] ?? 0)
                    let quantization = step / 2 * weightL1 + 1e-6 * magnitude
                    y[m * c.n + n] = value
                    rounding[m * c.n + n] = 1e-6 * magnitude
                    bound[m * c.n + n] = quantization + (halfOutput ? (abs(value) + quantization) * 0x1p-11 + 1e-7 : 0)
                }
            }
            return (y, bound, rounding)
        }

        func run(_ backend: any Backend, q8Mode: VulkanBackend.Q8Mode? = nil) throws -> [Float] {
            let x = try backend.tensor(x, [c.m, c.k])
            let w = try backend.weight(weightData)
            let b = try bias.map { try backend.weight($0.weightData) }
            if let q8Mode, let vulkan = backend as? VulkanBackend {
                return try vulkan.floats(try vulkan.linear(x, w, bias: b, q8Mode: q8Mode))
            }
            return try backend.floats(try backend.linear(x, w, bias: b))
        }
    }

    /// The largest |y − y_ref| / bound over the output.
    static func worstRatio(_ y: [Float], _ reference: (y: [Double], bound: [Double], rounding: [Double])) -> Double {
        zip(y, zip(reference.y, reference.bound)).map { abs(Double($0) - $1.0) / $1.1 }.max() ?? 0
    }

    static let hasDotProduct = TestDevice.device?.enabledFeatures.integerDotProduct == true
    static let noDotProduct: Comment = "the device has no integer dot product"

    static var backends: [VulkanBackend] { [TestBackends.f32, TestBackends.f16].compactMap { $0 } }

    @Test(.enabled(if: hasDotProduct, noDotProduct), arguments: cases)
    func matchesTheDequantizedReferenceWithinTheActivationQuantizationBound(_ c: Case) throws {
        for backend in Self.backends {
            let half = backend.activations == .f16
            for withBias in [false, true] {
                let problem = Problem(c, half: half, bias: withBias, seed: UInt64(c.m * 1000 + c.k))
                let y = try problem.run(backend, q8Mode: .w8a8)
                let ratio = Self.worstRatio(y, problem.reference(problem.dequantized(), halfOutput: half))
                #expect(ratio <= 1, "\(c.testDescription), \(backend.activations) activations, bias \(withBias): error \(ratio)× the bound")
            }
        }
    }

    /// The bound is tight enough to catch the mistakes a W8A8 kernel can make: the output of the
    /// kernel exceeds it against references that differ from the true one by one weight scale off by
    /// 10%, by the last (partial) word of K, or by every group using its neighbour's scale.
    @Test(.enabled(if: hasDotProduct, noDotProduct))
    func boundDiscriminates() throws {
        let backend = try #require(TestBackends.f32)
        for c in [Case(m: 33, n: 67, k: 130, group: 26), Case(m: 7, n: 5, k: 96, group: 32), Case(m: 33, n: 5, k: 130, group: 0)] {
            let problem = Problem(c, half: false, bias: true, seed: 77)
            let y = try problem.run(backend, q8Mode: .w8a8)
            let scales = problem.scales, groups = c.k / c.effectiveGroup
            let scale = { (row: Int, g: Int) in Double(scales[row * groups + g]) }
            #expect(Self.worstRatio(y, problem.reference(problem.dequantized(), halfOutput: false)) <= 1)
            // Row 2's scale of its largest group (gain 4), 10% off.
            let largest = (0 ..< groups).first { (2 + $0) % 4 == 2 } ?? 0
            let perturbed = problem.dequantized { row, g in scale(row, g) * (row == 2 && g == largest ? 1.1 : 1) }
            let ratio = Self.worstRatio(y, problem.reference(perturbed, halfOutput: false))
            #expect(ratio > 1, "\(c.testDescription): a scale 10% off stays within the bound (\(ratio)×)")
            // K's last partial word (or last word) dropped.
            let tail = c.k % 4 == 0 ? c.k - 4 : c.k / 4 * 4
            let dropped = problem.dequantized().enumerated().map { $0 % c.k >= tail ? 0 : $1 }
            let droppedRatio = Self.worstRatio(y, problem.reference(dropped, halfOutput: false))
            #expect(droppedRatio > 1, "\(c.testDescription): dropping k ≥ \(tail) stays within the bound (\(droppedRatio)×)")
            if groups > 1 {
                let shifted = problem.dequantized { row, g in scale(row, (g + 1) % groups) }
                let shiftedRatio = Self.worstRatio(y, problem.reference(shifted, halfOutput: false))
                #expect(shiftedRatio > 1, "\(c.testDescription): scales off by one group stay within the bound (\(shiftedRatio)×)")
            }
        }
    }

    /// Same quantization formula and the same int32-per-group, scale-per-group order as the CPU
    /// backend's W8A8 mode: the two differ by f32 rounding only. (Only groups that divide K: the CPU
    /// backend rejects the others.)
    @Test(.enabled(if: hasDotProduct, noDotProduct), arguments: cases.filter { $0.group == 0 || $0.k % $0.group == 0 })
    func agreesWithTheCPUBackendsW8A8Mode(_ c: Case) throws {
        let cpu = CPUBackend(q8Mode: .w8a8)
        for backend in Self.backends {
            let half = backend.activations == .f16
            let problem = Problem(c, half: half, bias: true, seed: UInt64(c.n * 1000 + c.k))
            let y = try problem.run(backend, q8Mode: .w8a8)
            let expected = try problem.run(cpu)
            // Each side's f32 rounding (the bound's f32 part), plus the rounding of an f16 output.
            let rounding = problem.reference(problem.dequantized(), halfOutput: half).rounding
            let worst = zip(y, zip(expected, rounding)).map { y, pair in
                let (cpuValue, f32Rounding) = pair
                let tolerance = 2 * f32Rounding + (half ? abs(Double(cpuValue)) * 0x1p-11 + 1e-7 : 0)
                return abs(Double(y) - Double(cpuValue)) / tolerance
            }.max() ?? 0
            #expect(worst <= 1, "\(c.testDescription), \(backend.activations) activations: \(worst)× the tolerance from the CPU's W8A8")
        }
    }

    @Test(.enabled(if: hasDotProduct, noDotProduct))
    func rowAndWeightChunksGiveTheUnsplitResult() throws {
        let device = try TestDevice.result.get()
        // x rows of 520 bytes and weight rows of 130: 4 KiB windows split both several times.
        let split = try VulkanBackend(device: device, maxBindingBytes: 4096, profile: true, printProfile: false)
        let whole = try #require(TestBackends.f32)
        let problem = Problem(Case(m: 33, n: 67, k: 130, group: 26), half: false, bias: true, seed: 5)
        let y = try problem.run(split, q8Mode: .w8a8)
        let dispatches = split.takeProfile()["linear q8a8"]?.count ?? 0
        #expect(dispatches > 4, "not split: \(dispatches) dispatches")
        #expect(y == (try problem.run(whole, q8Mode: .w8a8)))
    }

    /// Which kernels run: W8A8 only where the device has the integer dot product, and by default
    /// only where it is accelerated; the profiler labels tell them apart.
    @Test func kernelChoiceAndLabels() throws {
        let device = try TestDevice.result.get()
        let backend = try VulkanBackend(device: device, profile: true, printProfile: false)
        let problem = Problem(Case(m: 7, n: 5, k: 36, group: 12), half: false, bias: false, seed: 9)
        let dot = device.enabledFeatures.integerDotProduct, accelerated = dot && device.capabilities.integerDotProductAccelerated
        let expected: [(VulkanBackend.Q8Mode, VulkanBackend.Q8Kernel)] = [
            (.automatic, accelerated ? .integerDotProduct : .dequantizedWeights),
            (.w8a8, dot ? .integerDotProduct : .dequantizedWeights),
            (.w8a16, .dequantizedWeights),
        ]
        for (mode, kernel) in expected {
            #expect(backend.q8Kernel(mode) == kernel, "\(mode)")
            _ = backend.takeProfile()
            _ = try problem.run(backend, q8Mode: mode)
            #expect(Set(backend.takeProfile().keys) == ["linear \(kernel.rawValue)"], "\(mode)")
        }
        // Weights other than q8 never take the W8A8 kernels.
        let f16 = WeightBytes(pseudoRandomFloats(count: 5 * 36, seed: 10, range: 1), [5, 36], as: .f16)
        _ = try backend.floats(try backend.linear(try backend.tensor(problem.x, [7, 36]), try backend.weight(f16.weightData), bias: nil, q8Mode: .w8a8))
        #expect(Set(backend.takeProfile().keys) == ["linear f16"])
    }

    /// With VACEKIT_Q8_MODE unset, `linear` takes W8A8 only where the dot product is accelerated:
    /// on lavapipe (emulated) it keeps W8A16.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[VulkanBackend.Q8Mode.environmentVariable] == nil, "VACEKIT_Q8_MODE is set"))
    func unsetModeTakesW8A8OnlyWhereAccelerated() throws {
        let device = try TestDevice.result.get()
        let backend = try VulkanBackend(device: device, profile: true, printProfile: false)
        #expect(backend.q8Mode == .automatic)
        let problem = Problem(Case(m: 7, n: 5, k: 36, group: 0), half: false, bias: false, seed: 11)
        _ = try problem.run(backend)
        let accelerated = device.enabledFeatures.integerDotProduct && device.capabilities.integerDotProductAccelerated
        #expect(Set(backend.takeProfile().keys) == [accelerated ? "linear q8a8" : "linear q8"])
    }

    /// A weight marked `Q8Activations.sixteenBit` (the text encoders' q8 matrices) keeps W8A16 even when
    /// W8A8 is asked for: the W8A16 kernel runs and the result is the unmarked weight's under W8A16.
    @Test(.enabled(if: hasDotProduct, noDotProduct))
    func aSixteenBitWeightKeepsW8A16() throws {
        let device = try TestDevice.result.get()
        let backend = try VulkanBackend(device: device, profile: true, printProfile: false)
        let problem = Problem(Case(m: 7, n: 5, k: 36, group: 0), half: false, bias: false, seed: 12)
        var marked = problem.weightData
        marked.q8Activations = .sixteenBit
        let x = try backend.tensor(problem.x, [7, 36])
        _ = backend.takeProfile()
        let y = try backend.floats(try backend.linear(x, try backend.weight(marked), bias: nil, q8Mode: .w8a8))
        #expect(Set(backend.takeProfile().keys) == ["linear q8"])
        #expect(y == (try backend.floats(try backend.linear(x, try backend.weight(problem.weightData), bias: nil, q8Mode: .w8a16))))
        #expect(y != (try backend.floats(try backend.linear(x, try backend.weight(problem.weightData), bias: nil, q8Mode: .w8a8))))
    }
}
