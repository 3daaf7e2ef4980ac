import CKernels
import COpenBLAS
import Foundation
import Tensors

/// The CPU backend: f32 activations in pooled host buffers, weights used in place from the .vkq memory
/// map, OpenBLAS for f32 GEMM and the CKernels for q8 / bf16 weights. Each op family lives in its own
/// file (`CPUBackend+Linear.swift`, `+Elementwise`, `+Norms`, `+Attention`, `+Conv`, `+Layout`).
public final class CPUBackend: Backend, @unchecked Sendable {
    let pool = BufferPool()
    let profiler = OpProfiler()
    /// How activations meet q8 weights (`QuantizedMatmul.Mode.automatic`: W8A8 where the CPU has
    /// VNNI, W8A16 elsewhere); `VACEKIT_Q8_MODE=w8a8|w8a16` chooses.
    public let q8Mode: QuantizedMatmul.Mode
    /// `.reference` dequantizes panels of stored weights to f32 for OpenBLAS: the yardstick of the kernels.
    public let linearPath: LinearPath
    let workspace = GEMMWorkspace()
    let gemmLock = NSLock()

    /// How `compact` keeps activations held across calls: as they are (f32), or in f16 (half the memory;
    /// a VAE's causal caches then round to f16, ≈ 3e-4 relative).
    public let keptActivations: KeptActivations

    public enum LinearPath: Sendable { case kernels, reference }
    public enum KeptActivations: Sendable { case f32, f16 }

    public init(q8Mode: QuantizedMatmul.Mode? = nil, linearPath: LinearPath = .kernels, keptActivations: KeptActivations = .f32) {
        self.q8Mode = q8Mode ?? .environment
        self.linearPath = linearPath
        self.keptActivations = keptActivations
        _ = Self.mallocSettings
    }

    /// glibc raises its mmap threshold after each large free (up to 32 MB), after which buffers of a
    /// few MB come from the heap and stay resident when released. A fixed 4 MB threshold keeps every
    /// activation that size or larger in its own mapping, given back to the system on release.
    private static let mallocSettings: Void = {
        vk_malloc_mmap_threshold(4 << 20)
    }()

    public var name: String { "cpu (OpenBLAS \(BLAS.coreName), \(ProcessInfo.processInfo.activeProcessorCount) threads)" }

    // MARK: storage

    func allocate(_ shape: Shape) -> (Tensor, HostBuffer) {
        let buffer = HostBuffer(count: shape.count, pool: pool)
        return (Tensor(shape: shape, dtype: .f32, storage: buffer), buffer)
    }

    /// The f32 values of an activation (or an f32 / widened weight) of this backend.
    func values(_ t: Tensor, _ op: String) throws -> UnsafeBufferPointer<Float> {
        if let buffer = t.storage as? HostBuffer { return UnsafeBufferPointer(buffer.buffer) }
        if let weight = t.storage as? HostWeight, let floats = weight.floats { return floats }
        if t.storage is HostWeight { throw TensorError(op, "a \(t.dtype) weight cannot be used as an activation") }
        if t.storage is HostHalfBuffer { throw TensorError(op, "a compacted (f16) activation is an operand of concat and floats only") }
        throw TensorError(op, "tensor does not belong to the CPU backend")
    }

    public func tensor(_ values: [Float], _ shape: Shape) throws -> Tensor {
        try OpShapes.tensor(count: values.count, shape)
        let (t, buffer) = allocate(shape)
        _ = buffer.buffer.initialize(from: values)
        return t
    }

    public func floats(_ t: Tensor) throws -> [Float] {
        if let half = t.storage as? HostHalfBuffer {
            var out = [Float](repeating: 0, count: half.count)
            out.withUnsafeMutableBufferPointer { vk_f16_to_f32_n(half.halves, $0.baseAddress, half.count) }
            return out
        }
        if let weight = t.storage as? HostWeight, weight.floats == nil {
            var out = [Float](repeating: 0, count: t.count)
            out.withUnsafeMutableBufferPointer { Dequantize.toFloat(weight.data, into: $0) }
            return out
        }
        return Array(try values(t, "floats"))
    }

    public func weight(_ data: WeightData) throws -> Tensor {
        guard data.data.count == data.shape.count * data.dtype.elementSize else {
            throw TensorError("weight", "\(data.name): \(data.data.count) bytes for \(data.shape) of \(data.dtype)")
        }
        // Matrices in q8, bf16 and f16 stay in their stored form, used in place by the CKernels GEMM;
        // everything else (f32, norms, biases, conv kernels) is f32 for OpenBLAS and the elementwise ops.
        if data.shape.rank == 2, data.dtype != .f32, linearPath == .kernels {
            let weight: QuantizedMatmul.Weight
            switch data.dtype {
            case .q8(let group):
                guard let scales = data.scales else { throw TensorError("weight", "\(data.name): q8 without scales") }
                weight = .q8(values: data.data, scales: scales, group: group)
            case .bf16: weight = .bf16(data.data)
            default: weight = .f16(data.data)
            }
            let matmul = try QuantizedMatmul(weight, rows: data.shape[0], columns: data.shape[1])
            return Tensor(shape: data.shape, dtype: data.dtype, storage: HostWeight(data, widen: false, matmul: matmul))
        }
        let keepsStoredForm = data.shape.rank == 2 && data.dtype.isQuantized
        return Tensor(shape: data.shape, dtype: data.dtype, storage: HostWeight(data, widen: !keepsStoredForm))
    }
}
