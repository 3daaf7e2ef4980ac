import BackendConformance
import CKernels
import CPUBackend
import Tensors
import Testing

/// The direct stride-1 conv3d of CKernels (conv3d.c), at every level this CPU runs (portable always),
/// against the float64 reference: channel counts that do and do not fill the 16- or 32-channel tile, rows
/// whose last tile is narrower than the tile, causal and replicate temporal padding, 1×1×1 and
/// (3, 1, 1) kernels, and one case through `CPUBackend.conv3d` with batch 2 and a bias.
@Suite struct Conv3DDirectTests {
    /// Portable always; AVX2 (16 × 6 tiles) and AVX-512 (32 × 8 tiles) where the CPU has them.
    static let levels: [Int32] = {
        var levels = [Int32(vk_level_portable)]
        if vk_vector_level(Int32(vk_level_avx2)) == Int32(vk_level_avx2) { levels.append(Int32(vk_level_avx2)) }
        let avx512 = UInt32(vk_cpu_avx512f | vk_cpu_fma)
        if vk_cpu_features() & avx512 == avx512 { levels.append(Int32(vk_level_avx512)) }
        return levels
    }()

    struct Case: CustomStringConvertible, Sendable {
        let label: String
        let input: [Int]   // [C, T, H, W]
        let kernel: [Int]  // [O, C, kT, kH, kW]
        let padding: (h: Int, w: Int), temporal: (Int, Int), replicate: Bool
        /// The thread count the plan splits the work for (more threads: output-channel groups sooner).
        var workers = 1
        /// The output-channel groups the plan must choose (nil: not checked).
        var groups: Int32? = nil
        var description: String { label }
    }

    static let cases: [Case] = [
        Case(label: "causal 3×3×3, 20 → 40 channels (tile tail), width 13", input: [20, 4, 5, 13], kernel: [40, 20, 3, 3, 3],
             padding: (1, 1), temporal: (2, 0), replicate: false),
        Case(label: "replicate both ends, 16 channels, width 6", input: [7, 3, 4, 6], kernel: [16, 7, 3, 3, 3],
             padding: (1, 1), temporal: (1, 1), replicate: true),
        Case(label: "1×1×1, 33 → 17 channels, width 7", input: [33, 2, 3, 7], kernel: [17, 33, 1, 1, 1],
             padding: (0, 0), temporal: (0, 0), replicate: false),
        Case(label: "(3,1,1) time conv, 24 → 48 channels, width 11", input: [24, 3, 2, 11], kernel: [48, 24, 3, 1, 1],
             padding: (0, 0), temporal: (2, 0), replicate: false),
        Case(label: "(1,3,3) taps of an RGB head, 12 → 9 channels, width 10", input: [12, 2, 3, 10], kernel: [9, 12, 1, 3, 3],
             padding: (1, 1), temporal: (0, 0), replicate: false),
        // Narrow rows of many channels split for 4 threads: bands of 8 rows × 2 output-channel groups of 5 and 4
        // blocks, the last block half full.
        Case(label: "causal 3×3×3, 24 → 136 channels, width 7, 2 channel groups", input: [24, 3, 4, 7], kernel: [136, 24, 3, 3, 3],
             padding: (1, 1), temporal: (2, 0), replicate: false, workers: 4, groups: 2),
    ]

    static func reference(_ c: Case, _ x: [Float], _ w: [Float], _ bias: [Float]?, batch: Int = 1) -> (values: [Double], shape: [Int]) {
        Reference.conv3d(x.map(Double.init), shape: [batch] + c.input, w.map(Double.init), kernel: c.kernel, bias: bias?.map(Double.init),
                         stride: (1, 1, 1), padding: (c.padding.h, c.padding.w), temporal: c.temporal, replicate: c.replicate,
                         dilation: (1, 1, 1))
    }

    /// Runs the C kernel at `level` on one batch item, items split over two scratch buffers as two threads would.
    /// The sizes of one batch item of a case, before planning.
    static func problem(_ c: Case, output: [Int]) -> vk_conv3d {
        var p = vk_conv3d()
        (p.c, p.t, p.h, p.w) = (Int32(c.input[0]), Int32(c.input[1]), Int32(c.input[2]), Int32(c.input[3]))
        (p.o, p.kt, p.kh, p.kw) = (Int32(c.kernel[0]), Int32(c.kernel[2]), Int32(c.kernel[3]), Int32(c.kernel[4]))
        (p.pad_h, p.pad_w, p.pad_before, p.replicate) = (Int32(c.padding.h), Int32(c.padding.w), Int32(c.temporal.0), c.replicate ? 1 : 0)
        (p.t_out, p.h_out, p.w_out) = (Int32(output[2]), Int32(output[3]), Int32(output[4]))
        p.workers = Int32(c.workers)
        return p
    }

    static func direct(_ c: Case, _ x: [Float], _ w: [Float], _ bias: [Float], level: Int32) -> [Float] {
        let expected = reference(c, x, w, bias)
        var p = problem(c, output: expected.shape)
        #expect(vk_conv3d_plan(&p, level) == 0)
        // 16 output channels or fewer keep the 16-channel AVX2 tile on an AVX-512 CPU.
        #expect(p.level == (level == Int32(vk_level_avx512) && c.kernel[0] <= 16 ? Int32(vk_level_avx2) : level))
        if let groups = c.groups { #expect(p.groups == groups && p.band == 8, "\(c): band \(p.band), \(p.groups) groups") }
        var packed = [Float](repeating: .nan, count: vk_conv3d_packed_floats(&p))
        var out = [Float](repeating: .nan, count: expected.values.count)
        var scratch = [Float](repeating: .nan, count: vk_conv3d_scratch_floats(&p))
        let items = vk_conv3d_items(&p)
        w.withUnsafeBufferPointer { vk_conv3d_pack(&p, $0.baseAddress, &packed) }
        x.withUnsafeBufferPointer { xs in
            bias.withUnsafeBufferPointer { bs in
                packed.withUnsafeBufferPointer { ps in
                    out.withUnsafeMutableBufferPointer { ys in
                        (p.x, p.weights, p.bias, p.y) = (xs.baseAddress, ps.baseAddress, bs.baseAddress, ys.baseAddress)
                        vk_conv3d_run(&p, 0, items / 2, &scratch)
                        vk_conv3d_run(&p, items / 2, items, &scratch)
                    }
                }
            }
        }
        return out
    }

    static func inputs(_ c: Case, batch: Int = 1, seed: UInt64) -> (x: [Float], w: [Float], bias: [Float]) {
        var random = SeededRandom(seed: seed)
        return (random.values(batch * c.input.reduce(1, *)), random.values(c.kernel.reduce(1, *), scale: 0.3), random.values(c.kernel[0]))
    }

    @Test(arguments: cases, levels)
    func matchesTheFloat64Reference(_ c: Case, level: Int32) throws {
        let (x, w, bias) = Self.inputs(c, seed: 3)
        let expected = Self.reference(c, x, w, bias)
        let error = try ErrorMetric.compare(Self.direct(c, x, w, bias, level: level), expected.values, what: "conv3d \(c)")
        // f32 sums of up to 540 products: measured ≤ 3.5e-7 relative L2 (both levels).
        #expect(error.within(1e-6), "\(c) at level \(level): \(error)")
        // The bound catches one wrong weight (the last tap of the last output channel).
        var perturbed = w
        perturbed[perturbed.count - 1] += 0.01
        let wrong = try ErrorMetric.compare(Self.direct(c, x, perturbed, bias, level: level), expected.values, what: "perturbed")
        #expect(!wrong.within(1e-6), "\(c): a changed weight gives \(wrong)")
    }

    @Test func backendConvUsesItWithBatchAndBias() throws {
        let c = Self.cases[0]
        let (x, w, bias) = Self.inputs(c, batch: 2, seed: 5)
        let backend = CPUBackend()
        let out = try backend.conv3d(try backend.tensor(x, Shape([2] + c.input)), try backend.tensor(w, Shape(c.kernel)),
                                     bias: try backend.tensor(bias, [c.kernel[0]]),
                                     Conv3DOptions(padding: (1, 1), temporalPadding: c.temporal))
        let expected = Self.reference(c, x, w, bias, batch: 2)
        #expect(out.shape.dims == expected.shape)
        let error = try ErrorMetric.compare(try backend.floats(out), expected.values, what: "CPUBackend.conv3d")
        #expect(error.within(1e-6), "\(error)")
    }

    /// `conv3d(x, …, history:)` reads cached frames (f32, or compacted to f16) and x in place: exactly the
    /// conv of the joined frames, for batch 2, with f32 and (where the CPU has it) bf16 kernels.
    @Test(arguments: [DType.f32, DType.bf16])
    func cachedFramesAreReadInPlace(dtype: DType) throws {
        let (c, o, h, w) = (20, 40, 5, 13)
        var random = SeededRandom(seed: 21)
        let values = random.values(2 * c * 4 * h * w), kernel = random.values(o * c * 27, scale: 0.3), bias = random.values(o)
        let bits = kernel.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: bits.count * 2, alignment: 64)
        defer { bytes.deallocate() }
        bits.withUnsafeBytes { bytes.copyMemory(from: $0) }
        for kept in [CPUBackend.KeptActivations.f32, .f16] {
            let backend = CPUBackend(keptActivations: kept)
            let weight = dtype == .f32 ? try backend.tensor(kernel, [o, c, 3, 3, 3])
                : try backend.weight(WeightData(name: "conv.weight", shape: [o, c, 3, 3, 3], dtype: .bf16, data: UnsafeRawBufferPointer(bytes), owner: nil))
            let video = try backend.tensor(values, [2, c, 4, h, w])
            // Two cached frames (one tensor of 1 frame, one of 2 … as a cache holds them), then one new frame.
            let history = [try backend.compact(try backend.slice(video, axis: 2, 0 ..< 1)), try backend.compact(try backend.slice(video, axis: 2, 1 ..< 3))]
            let x = try backend.slice(video, axis: 2, 3 ..< 4)
            let options = Conv3DOptions(padding: (1, 1), temporalPadding: (0, 0))
            let inPlace = try backend.floats(try backend.conv3d(x, weight, bias: try backend.tensor(bias, [o]), options, history: history))
            let joined = try backend.floats(try backend.conv3d(try backend.concat(history + [x], axis: 2), weight, bias: try backend.tensor(bias, [o]), options))
            #expect(inPlace == joined, "\(dtype) kernel, \(kept) history: in place differs from joined")
            #expect(inPlace.count == 2 * o * 2 * h * w)
        }
    }

    /// The bf16 kernel (AVX-512 BF16) on every case: against the float64 reference on the bf16-rounded
    /// input and weights its f32 sums leave ≤ 1e-6, and one changed weight fails that; against the exact
    /// operands it stays within what bf16 rounding costs.
    @Test(.enabled(if: CPUBackend.bf16ConvSupported, "needs AVX-512 BF16"), arguments: cases)
    func bf16KernelMatchesTheRoundedReference(_ c: Case) throws {
        let (x, w, bias) = Self.inputs(c, seed: 3)
        let (xr, wr) = (x.map(Self.bf16), w.map(Self.bf16))
        let rounded = Self.reference(c, xr, wr, bias), exact = Self.reference(c, x, w, bias)
        let out = Self.directBF16(c, x, wr, bias)
        let error = try ErrorMetric.compare(out, rounded.values, what: "bf16 conv3d \(c)")
        let toExact = try ErrorMetric.compare(out, exact.values, what: "bf16 conv3d \(c) vs exact")
        print("conv3d bf16 \(c): \(error.relativeL2) to the rounded operands, \(toExact.relativeL2) to the exact ones")
        #expect(error.within(1e-6), "\(c): \(error)")
        #expect(toExact.within(1e-2), "\(c): \(toExact)")
        var perturbed = wr
        perturbed[perturbed.count - 1] = Self.bf16(perturbed[perturbed.count - 1] + 0.01)
        let wrong = try ErrorMetric.compare(Self.directBF16(c, x, perturbed, bias), rounded.values, what: "perturbed")
        #expect(!wrong.within(1e-6), "\(c): a changed weight gives \(wrong)")
    }

    /// The bf16 C kernel on one batch item (weights given as bf16-exact floats), items split over two scratches.
    static func directBF16(_ c: Case, _ x: [Float], _ w: [Float], _ bias: [Float]) -> [Float] {
        let expected = reference(c, x, w, bias)
        var p = problem(c, output: expected.shape)
        #expect(vk_conv3d_bf16_plan(&p) == 0)
        let bits = w.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
        var packed = [UInt16](repeating: 0xffff, count: vk_conv3d_bf16_packed_halves(&p))
        var out = [Float](repeating: .nan, count: expected.values.count)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: vk_conv3d_bf16_scratch_bytes(&p), alignment: 64)
        defer { scratch.deallocate() }
        let items = vk_conv3d_items(&p)
        bits.withUnsafeBufferPointer { vk_conv3d_bf16_pack(&p, $0.baseAddress, &packed) }
        x.withUnsafeBufferPointer { xs in
            bias.withUnsafeBufferPointer { bs in
                packed.withUnsafeBufferPointer { ps in
                    out.withUnsafeMutableBufferPointer { ys in
                        (p.x, p.weights16, p.bias, p.y) = (xs.baseAddress, ps.baseAddress, bs.baseAddress, ys.baseAddress)
                        vk_conv3d_bf16_run(&p, 0, items / 2, scratch)
                        vk_conv3d_bf16_run(&p, items / 2, items, scratch)
                    }
                }
            }
        }
        return out
    }

    /// Round to nearest even at bf16.
    static func bf16(_ x: Float) -> Float {
        let bits = x.bitPattern
        return Float(bitPattern: (bits &+ 0x7fff &+ ((bits >> 16) & 1)) & 0xffff_0000)
    }

    /// f16 and bf16 kernels: packed from their stored bits (not widened), equal to the reference on the
    /// stored values; a bf16 kernel read as f16 bits (the wrong format) fails.
    @Test(arguments: [DType.f16, DType.bf16])
    func halfKernelsArePackedFromTheirBits(dtype: DType) throws {
        let c = Self.cases[0]
        let (x, w, bias) = Self.inputs(c, seed: 9)
        let bits: [UInt16] = w.map { dtype == .f16 ? Float16($0).bitPattern : UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
        let stored: [Float] = bits.map { dtype == .f16 ? Float(Float16(bitPattern: $0)) : Float(bitPattern: UInt32($0) << 16) }
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: bits.count * 2, alignment: 64)
        defer { bytes.deallocate() }
        bits.withUnsafeBytes { bytes.copyMemory(from: $0) }
        let backend = CPUBackend()
        func run(_ type: DType) throws -> [Float] {
            let weight = try backend.weight(WeightData(name: "conv.weight", shape: Shape(c.kernel), dtype: type,
                                                       data: UnsafeRawBufferPointer(bytes), owner: nil))
            let out = try backend.conv3d(try backend.tensor(x, Shape([1] + c.input)), weight, bias: try backend.tensor(bias, [c.kernel[0]]),
                                         Conv3DOptions(padding: (1, 1), temporalPadding: c.temporal))
            return try backend.floats(out)
        }
        // A bf16 kernel meets bf16 operands where the CPU has the bf16 conv: the input is rounded too.
        let input = dtype == .bf16 && CPUBackend.bf16ConvAvailable ? x.map(Self.bf16) : x
        let expected = Self.reference(c, input, stored, bias).values
        let error = try ErrorMetric.compare(try run(dtype), expected, what: "conv3d \(dtype) kernel")
        #expect(error.within(1e-6), "\(error)")
        if dtype == .bf16 {
            let wrong = try ErrorMetric.compare(try run(.f16), expected, what: "bf16 bits read as f16")
            #expect(!wrong.within(1e-6), "\(wrong)")
        }
    }
}
