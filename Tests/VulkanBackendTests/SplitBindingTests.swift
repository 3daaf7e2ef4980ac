import CPUBackend
import Foundation
import Tensors
import Testing
@testable import VulkanBackend

/// Tensors larger than one binding: a backend limited to 16 KiB per binding (and 8 dispatches per
/// submit) must give the results of an unlimited one and of the CPU backend. Every op below is
/// split into several dispatches (asserted through the dispatch counts).
@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct SplitBindingTests {
    static let limit = 16 << 10

    struct Backends {
        let split: VulkanBackend
        let whole: VulkanBackend
        let cpu = CPUBackend()

        init() throws {
            let device = try TestDevice.result.get()
            split = try VulkanBackend(device: device, q8Mode: .w8a16, maxBindingBytes: SplitBindingTests.limit, dispatchesPerSubmit: 8, profile: true, printProfile: false)
            whole = try VulkanBackend(device: device, q8Mode: .w8a16, profile: true, printProfile: false)
        }

        /// Runs `body` on the three backends; returns (split, whole, cpu) values and the number of
        /// dispatches the split backend recorded.
        func run(_ body: (any Backend) throws -> Tensor) throws -> (split: [Float], whole: [Float], cpu: [Float], dispatches: Int) {
            _ = split.takeProfile()
            let s = try split.floats(try body(split))
            let dispatches = split.takeProfile().values.reduce(0) { $0 + $1.count }
            return (s, try whole.floats(try body(whole)), try cpu.floats(try body(cpu)), dispatches)
        }
    }

    func values(_ count: Int, seed: UInt64, range: Float = 1) -> [Float] { pseudoRandomFloats(count: count, seed: seed, range: range) }

    @Test(arguments: [DType.f32, .q8(group: 32)])
    func linearSplitsRowsAndWeightRows(_ dtype: DType) throws {
        let backends = try Backends()
        // x 300 × 64 f32 = 75 KiB, out 300 × 96 = 112 KiB, W 96 × 64 f32 = 24 KiB: all exceed 16 KiB.
        let (m, k, n) = (300, 64, 96)
        let x = values(m * k, seed: 1), bias = values(n, seed: 3)
        let weight = WeightBytes(values(n * k, seed: 2, range: 0.2), [n, k], as: dtype)
        // The CPU gets the dequantized values as f32 (its q8 kernels may quantize activations too).
        let dequantized = WeightBytes(weight.values, [n, k], as: .f32)
        let r = try backends.run { b in
            try b.linear(try b.tensor(x, [3, 100, k]), try b.weight((b is CPUBackend ? dequantized : weight).weightData), bias: try b.tensor(bias, [n]))
        }
        #expect(r.dispatches > 4, "the linear was not split (\(r.dispatches) dispatches)")
        #expect(r.split == r.whole, "splitting changed the result")
        #expect(try ErrorMetric.compare(r.split, r.cpu).relativeL2 <= 1e-5)
    }

    @Test func elementwiseSplitsBoxes() throws {
        let backends = try Backends()
        // [2, 300, 64] f32 = 150 KiB; scale and shift broadcast from [2, 1, 64].
        let x = values(2 * 300 * 64, seed: 4), y = values(2 * 300 * 64, seed: 5)
        let scale = values(128, seed: 6), shift = values(128, seed: 7)
        let r = try backends.run { b in
            let sum = try b.binary(.add, try b.tensor(x, [2, 300, 64]), try b.tensor(y, [2, 300, 64]))
            return try b.modulate(sum, scale: try b.tensor(scale, [2, 1, 64]), shift: try b.tensor(shift, [2, 1, 64]))
        }
        #expect(r.dispatches > 4, "not split (\(r.dispatches) dispatches)")
        #expect(r.split == r.whole)
        #expect(try ErrorMetric.compare(r.split, r.cpu).relativeL2 <= 1e-6)
    }

    @Test func normsRotaryAndLayoutSplitRows() throws {
        let backends = try Backends()
        let (rows, width) = (2 * 150, 64)
        let x = values(rows * width, seed: 8, range: 2), gamma = values(width, seed: 9), beta = values(width, seed: 10)
        let angles = values(150 * 8, seed: 11, range: 3)
        let (cos, sin) = (angles.map { Foundation.cos($0) }, angles.map { Foundation.sin($0) })
        let r = try backends.run { b in
            let t = try b.tensor(x, [2, 150, width])
            let normed = try b.layerNorm(t, weight: try b.tensor(gamma, [width]), bias: try b.tensor(beta, [width]), eps: 1e-6)
            let rotated = try b.rotary(try b.rmsNorm(normed, weight: nil, eps: 1e-6), cos: try b.tensor(cos, [150, 8]), sin: try b.tensor(sin, [150, 8]))
            let permuted = try b.permute(rotated, [1, 0, 2])                           // [150, 2, 64]
            let padded = try b.pad(permuted, axis: 0, before: 3, after: 2, mode: .replicate)
            let joined = try b.concat([padded, try b.slice(padded, axis: 0, 10 ..< 20)], axis: 0)
            return try b.mean(try b.interpolate(joined, size: [3, 96], mode: .linear), axis: 1)
        }
        #expect(r.dispatches > 12, "not split (\(r.dispatches) dispatches)")
        #expect(r.split == r.whole)
        #expect(try ErrorMetric.compare(r.split, r.cpu).relativeL2 <= 1e-5)
    }

    @Test func attentionSplitsQueriesPerBatchItem() throws {
        let backends = try Backends()
        // q [2, 300, 32] = 75 KiB is split; k and v [2, 40, 32] = 10 KiB fit.
        let q = values(2 * 300 * 32, seed: 12), k = values(2 * 40 * 32, seed: 13), v = values(2 * 40 * 32, seed: 14)
        let mask = (0 ..< 80).map { Float($0 % 3 == 0 ? 0 : 1) }
        let r = try backends.run { b in
            try b.attention(q: try b.tensor(q, [2, 300, 32]), k: try b.tensor(k, [2, 40, 32]), v: try b.tensor(v, [2, 40, 32]), heads: 2,
                            keyMask: try b.tensor(mask, [2, 40]))
        }
        #expect(r.dispatches > 2)
        #expect(r.split == r.whole)
        #expect(try ErrorMetric.compare(r.split, r.cpu).relativeL2 <= 1e-5)
    }

    @Test func conv3dSplitsChannelsAndAccumulates() throws {
        let backends = try Backends()
        // x [1, 8, 4, 16, 16] f32 = 32 KiB: 3 input channels per window, so three accumulating passes.
        let x = values(8 * 4 * 16 * 16, seed: 15), w = WeightBytes(values(8 * 8 * 27, seed: 16, range: 0.2), [8, 8, 3, 3, 3], as: .f32)
        let bias = values(8, seed: 17)
        let options = Conv3DOptions(padding: (1, 1), temporalPadding: (2, 0))
        let r = try backends.run { b in
            try b.conv3d(try b.tensor(x, [1, 8, 4, 16, 16]), try b.weight(w.weightData), bias: try b.tensor(bias, [8]), options)
        }
        #expect(r.dispatches >= 9)
        #expect(try ErrorMetric.compare(r.split, r.whole).relativeL2 <= 1e-6)
        #expect(try ErrorMetric.compare(r.split, r.cpu).relativeL2 <= 1e-5)
    }

    @Test func tooLargeForAnySplitIsAnError() throws {
        let backends = try Backends()
        // One row of 8192 f32 (32 KiB) cannot be bound in 16 KiB.
        let x = try backends.split.tensor([Float](repeating: 1, count: 8192), [1, 8192])
        #expect(throws: TensorError.self) { try backends.split.layerNorm(x, weight: nil, bias: nil, eps: 1e-6) }
    }
}
