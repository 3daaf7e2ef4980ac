import Foundation
import Tensors
import VKQ
import VulkanBackend

/// `vacekit bench ops`: GEMM on the real DiT shapes per weight dtype, attention, and a VAE conv3d,
/// through the Backend protocol (so the same table runs on every backend). Best of `runs` after a warm-up.
public struct OpsBenchmark {
    public typealias Row = BenchmarkRow

    public let backend: any Backend
    public let quick: Bool
    public let runs: Int
    /// GPU sizes: 4680-token GEMMs and attention at 4680, 16380 and 32760 tokens (the 480p/720p video
    /// lengths), the shapes of `converters/reference/bench_torch_cuda.py`.
    public var gpuSizes = false

    public init(backend: any Backend, quick: Bool, runs: Int, gpuSizes: Bool = false) {
        (self.backend, self.quick, self.runs, self.gpuSizes) = (backend, quick, runs, gpuSizes)
    }

    /// Best of `runs` after a warm-up: the op until its result is complete (the CPU backend's ops
    /// return complete; Vulkan waits for the device), without copying the result out — a copy of a
    /// 40 MB output into a fresh array costs as much as a quarter of the GEMM that made it.
    func time(_ body: () throws -> Tensor) throws -> Double {
        try Timing.best(runs: runs, warmUp: { _ = try backend.floats(try body()) }) {  // warm-up: on Vulkan, pipeline creation
            var result: Tensor?
            let seconds = try Timing.seconds {
                result = try body()
                try (backend as? VulkanBackend)?.synchronize()
            }
            withExtendedLifetime(result) {}
            return seconds
        }
    }

    /// Linear rows per weight dtype (`q8Label` names the q8 rows, e.g. `q8a8` for a W8A8 backend), then
    /// attention and conv3d unless `linearOnly`.
    public func rows(dtypes: [DType], q8Label: String = "q8", linearOnly: Bool = false) throws -> [Row] {
        var rows: [Row] = []
        var noise = NormalNoise(seed: 7)
        let m = quick ? 64 : gpuSizes ? 4 * BenchmarkShapes.tokens : BenchmarkShapes.tokens
        for shape in quick ? Array(BenchmarkShapes.linear.prefix(2)) : BenchmarkShapes.linear {
            let (label, k, n) = (shape.label, shape.k, shape.n)
            let x = try backend.tensor(noise.values(m * k), [m, k])
            let values = noise.values(n * k).map { $0 * 0.02 }
            for dtype in dtypes {
                let encoded = try EncodedTensor.encode(name: "w", shape: [n, k], values: values, as: dtype)
                let box = Bytes(encoded.data, encoded.scales)
                let weight = try backend.weight(WeightData(name: "w", shape: [n, k], dtype: encoded.dtype, data: box.data, scales: box.scales, owner: box))
                let seconds = try time { try backend.linear(x, weight, bias: nil) }
                let name = dtype.isQuantized ? q8Label + (dtype == .q8(group: 0) ? "" : "/g32") : dtype.name
                rows.append(Row(op: "linear \(label)", shape: "\(m)×\(k)→\(n)", dtype: name, seconds: seconds, gflops: 2.0 * Double(m * n * k) / seconds / 1e9))
            }
        }
        if linearOnly { return rows }
        for tokens in quick ? [256] : gpuSizes ? [4680, 16380, 32760] : [1170, 4680] {
            let (heads, d) = (12, 128)
            let q = try backend.tensor(noise.values(tokens * heads * d), [1, tokens, heads * d])
            let seconds = try time { try backend.attention(q: q, k: q, v: q, heads: heads, keyMask: nil) }
            rows.append(Row(op: "attention", shape: "\(tokens) tokens, \(heads)×\(d)", dtype: "act", seconds: seconds,
                            gflops: 4.0 * Double(tokens * tokens * heads * d) / seconds / 1e9))
        }
        // Wan's adaLN: LayerNorm then modulation, fused and as two ops (memory-bound: GB/s matters).
        let rowsOfTokens = quick ? 256 : gpuSizes ? 32760 : 1170, width = 1536
        let tokens = try backend.tensor(noise.values(rowsOfTokens * width), [1, rowsOfTokens, width])
        let scale = try backend.tensor(noise.values(width), [1, 1, width]), shift = try backend.tensor(noise.values(width), [1, 1, width])
        let fused = try time { try backend.modulatedLayerNorm(tokens, scale: scale, shift: shift, eps: 1e-6) }
        let twoOps = try time { try backend.modulate(try backend.layerNorm(tokens, weight: nil, bias: nil, eps: 1e-6), scale: scale, shift: shift) }
        for (name, seconds) in [("adaLN fused", fused), ("adaLN two ops", twoOps)] {
            rows.append(Row(op: name, shape: "[1,\(rowsOfTokens),\(width)]", dtype: "act", seconds: seconds,
                            gflops: 8.0 * Double(rowsOfTokens * width) / seconds / 1e9))
        }
        // A Wan VAE decoder conv at 1/4 of 480×832 (channels 192, 3×3×3, causal), one latent-time chunk.
        let (c, t, h, w) = quick ? (32, 2, 30, 52) : (192, 4, 120, 208)
        let x = try backend.tensor(noise.values(c * t * h * w), [1, c, t, h, w])
        let kernel = noise.values(c * c * 27).map { $0 * 0.02 }
        let encoded = try EncodedTensor.encode(name: "conv", shape: [c, c, 3, 3, 3], values: kernel, as: .f16)
        let box = Bytes(encoded.data, nil)
        let weight = try backend.weight(WeightData(name: "conv", shape: [c, c, 3, 3, 3], dtype: .f16, data: box.data, owner: box))
        let options = Conv3DOptions(padding: (1, 1), temporalPadding: (2, 0))
        let seconds = try time { try backend.conv3d(x, weight, bias: nil, options) }
        rows.append(Row(op: "conv3d causal 3×3×3", shape: "[1,\(c),\(t),\(h),\(w)]→\(c)", dtype: "f16", seconds: seconds,
                        gflops: 2.0 * Double(c * c * 27 * t * h * w) / seconds / 1e9))
        return rows
    }

    /// Weight bytes with a lifetime of their own.
    final class Bytes {
        let data: UnsafeRawBufferPointer
        let scales: UnsafeRawBufferPointer?
        init(_ data: [UInt8], _ scales: [UInt8]?) {
            func copy(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
                bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
                return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0 ..< bytes.count])
            }
            self.data = copy(data)
            self.scales = scales.map(copy)
        }
        deinit {
            UnsafeMutableRawPointer(mutating: data.baseAddress)?.deallocate()
            if let scales { UnsafeMutableRawPointer(mutating: scales.baseAddress)?.deallocate() }
        }
    }
}
