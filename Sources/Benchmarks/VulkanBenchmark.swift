import Foundation
import Tensors
import VulkanBackend

/// Kernel timings on the DiT shapes: the linear layers of Wan2.1-1.3B (1536, FFN 8960) and LTX-Video
/// (2048, FFN 8192) at 1170 tokens with f16 and q8 weights (q8 through W8A16, and as `q8a8` through
/// W8A8 where the device has the integer dot product), and self-attention (12 heads × 128) at
/// 1170 and 4680 tokens. Activations are f16 where the device has 16-bit storage. `quick` takes 64
/// rows of the three Wan shapes and 256 attention tokens: about half a minute on lavapipe.
public enum VulkanBenchmark {
    /// The linear layers measured.
    public static let linearShapes = BenchmarkShapes.linear

    /// The weight types of the linear rows, each with the q8 mode it runs under and its row's name.
    public static func linearVariants(_ device: VulkanDevice) -> [(dtype: DType, q8Mode: VulkanBackend.Q8Mode, name: String)] {
        var variants: [(DType, VulkanBackend.Q8Mode, String)] = [(.f16, .w8a16, "f16"), (.q8(group: 0), .w8a16, "q8/row")]
        if device.enabledFeatures.integerDotProduct { variants.append((.q8(group: 0), .w8a8, "q8a8/row")) }
        return variants
    }

    public static func ops(device: VulkanDevice, quick: Bool) throws -> [BenchmarkRow] {
        let backend = try VulkanBackend(device: device, activations: .f16, profile: true, printProfile: false)
        let runs = quick ? 1 : 3
        let m = quick ? 64 : BenchmarkShapes.tokens
        var rows: [BenchmarkRow] = []
        let variants = linearVariants(device)
        // Warm-up: compile each pipeline on a tiny problem of the same kind (lavapipe JITs on first use).
        let warmX = try backend.tensor(pattern(m * 64, seed: 1), [m, 64])
        for variant in variants {
            let weight = try makeWeight(backend, rows: 64, columns: 64, dtype: variant.dtype)
            _ = try backend.floats(try backend.linear(warmX, weight, bias: nil, q8Mode: variant.q8Mode))
        }
        for shape in quick ? Array(linearShapes.prefix(3)) : linearShapes {
            let (label, k, n) = (shape.label, shape.k, shape.n)
            let x = try backend.tensor(pattern(m * k, seed: UInt64(k)), [m, k])
            for variant in variants {
                let weight = try makeWeight(backend, rows: n, columns: k, dtype: variant.dtype)
                let seconds = try time(backend, runs: runs) { try backend.linear(x, weight, bias: nil, q8Mode: variant.q8Mode) }
                rows.append(BenchmarkRow(op: "linear \(label)", shape: "\(m)×\(k)→\(n)", dtype: variant.name,
                                         seconds: seconds, gflops: 2 * Double(m * n * k) / seconds / 1e9))
            }
        }
        let (heads, headDim) = (12, 128)
        let width = heads * headDim
        let warm = try backend.tensor(pattern(16 * width, seed: 2), [1, 16, width])
        _ = try backend.floats(try backend.attention(q: warm, k: warm, v: warm, heads: heads, keyMask: nil))
        for tokens in quick ? [256] : [1170, 4680] {
            let q = try backend.tensor(pattern(tokens * width, seed: 3), [1, tokens, width])
            let k = try backend.tensor(pattern(tokens * width, seed: 4), [1, tokens, width])
            let v = try backend.tensor(pattern(tokens * width, seed: 5), [1, tokens, width])
            let seconds = try time(backend, runs: runs) { try backend.attention(q: q, k: k, v: v, heads: heads, keyMask: nil) }
            rows.append(BenchmarkRow(op: "attention", shape: "\(tokens) tokens, \(heads)×\(headDim)", dtype: backend.activations.rawValue,
                                     seconds: seconds, gflops: 4 * Double(tokens * tokens * width) / seconds / 1e9))
        }
        return rows
    }

    /// Best of `runs`: GPU time of the op's dispatches when timestamps are available, else wall time.
    static func time(_ backend: VulkanBackend, runs: Int, _ body: () throws -> Tensor) throws -> Double {
        try Timing.best(runs: runs) {
            try backend.synchronize()
            _ = backend.takeProfile()
            var out: Tensor?
            let wall = try Timing.seconds {
                out = try body()
                try backend.synchronize()
            }
            let gpu = backend.takeProfile().values.reduce(0) { $0 + $1.seconds }
            withExtendedLifetime(out) {}
            return gpu > 0 ? gpu : wall
        }
    }

    /// Deterministic values in [-1, 1) (cheap enough for 18 M-element weights).
    static func pattern(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0 ..< count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max)
        }
    }

    /// A random weight [rows, columns] in `dtype` (f16; or q8 with one scale per row), uploaded.
    static func makeWeight(_ backend: VulkanBackend, rows: Int, columns: Int, dtype: DType) throws -> Tensor {
        let count = rows * columns
        let bytes = OwnedBytes(count: count * dtype.elementSize)
        var scales: OwnedBytes?
        var state: UInt64 = 0x2545_F491_4F6C_DD1D &+ UInt64(count)
        switch dtype {
        case .q8:
            let q = bytes.pointer.bindMemory(to: Int8.self, capacity: count)
            for i in 0 ..< count {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                q[i] = Int8(truncatingIfNeeded: Int(state >> 56) % 255 - 127)
            }
            let rowScales = OwnedBytes(count: rows * 2)
            let s = rowScales.pointer.bindMemory(to: Float16.self, capacity: rows)
            for r in 0 ..< rows { s[r] = Float16(0.02 / 127) }
            scales = rowScales
        default:
            let h = bytes.pointer.bindMemory(to: Float16.self, capacity: count)
            let table = pattern(4096, seed: 9).map { Float16($0 * 0.02) }
            for i in 0 ..< count { h[i] = table[(i &* 2_654_435_761) >> 8 & 4095] }
        }
        let data = WeightData(name: "bench", shape: [rows, columns], dtype: dtype, data: bytes.buffer, scales: scales?.buffer,
                              owner: bytes)
        return try backend.weight(data)  // copied to device memory: the bytes may go
    }

    final class OwnedBytes {
        let pointer: UnsafeMutableRawPointer
        let count: Int
        init(count: Int) {
            self.count = count
            pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        }
        var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }
        deinit { pointer.deallocate() }
    }
}
