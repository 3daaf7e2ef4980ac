import Foundation
import Tensors

/// A tensor of the Vulkan backend: a region of pooled device memory, given back to the pool when the
/// last `Tensor` referring to it goes away.
///
/// Activations are contiguous f32 or f16 (the backend's activation type). Weights keep their stored
/// form (f32, f16, bf16, or q8 bytes plus f16 `scales`); when a weight is used where an activation
/// is expected (a bias, a norm scale, a modulation table), `operandStorage` gives an f32/f16 view.
final class VulkanTensorStorage: TensorStorage, @unchecked Sendable {
    let pool: TensorMemoryPool
    let region: BufferRegion
    /// Bytes in use (the region may be larger).
    let byteCount: Int
    let dtype: DType
    let isWeight: Bool
    /// q8 weights: the f16 scales, `scaleByteCount` bytes of them.
    let scales: BufferRegion?
    let scaleByteCount: Int
    /// Weights: the shape they were stored with (q8 scale groups follow its rows, whatever a
    /// `reshape` of the tensor says).
    let storedShape: Shape?
    /// q8 weights: what their linears meet them with (`WeightData.q8Activations`).
    let q8Activations: Q8Activations
    /// Weights only: the activation-typed copy made on first use as an operand.
    private let viewLock = NSLock()
    private var operandView: VulkanTensorStorage?

    init(pool: TensorMemoryPool, region: BufferRegion, byteCount: Int, dtype: DType, isWeight: Bool, scales: BufferRegion? = nil,
         scaleByteCount: Int = 0, storedShape: Shape? = nil, q8Activations: Q8Activations = .backendChoice) {
        self.pool = pool
        self.region = region
        self.byteCount = byteCount
        self.dtype = dtype
        self.isWeight = isWeight
        self.scales = scales
        self.scaleByteCount = scaleByteCount
        self.storedShape = storedShape
        self.q8Activations = q8Activations
    }

    deinit {
        pool.release(region)
        if let scales { pool.release(scales) }
    }

    var elementSize: Int { dtype.elementSize }
    /// The f16 view of an input binding (else the f32 view); only meaningful for f32 / f16 data.
    var isHalf: Bool { dtype == .f16 }

    /// The cached operand view of a weight, made by `make` on first use.
    func operandView(_ make: () throws -> VulkanTensorStorage) rethrows -> VulkanTensorStorage {
        try viewLock.withLock {
            if let operandView { return operandView }
            let view = try make()
            operandView = view
            return view
        }
    }

    /// A binding of the bytes `range` (relative to the tensor's start) of `region`: its offset rounded
    /// down to the device's alignment, its size rounded up to whole words. `base` is the element
    /// (of `elementSize` bytes) at which the range starts inside the binding.
    static func binding(_ region: BufferRegion, bytes range: Range<Int>, elementSize: Int, alignment: Int) -> (binding: BufferBinding, base: Int) {
        let start = region.offset + range.lowerBound
        let aligned = start / alignment * alignment
        let end = min(region.offset + max(range.upperBound, range.lowerBound + 1), region.offset + region.capacity)
        let size = min((end - aligned + 3) / 4 * 4, region.buffer.byteCount - aligned)
        return (BufferBinding(region.buffer, offset: aligned, size: size), (start - aligned) / elementSize)
    }
}
