import Foundation
import Tensors

/// Common base of the CPU backend's storages (lets the backend check a tensor is its own).
class TensorStorageBase: TensorStorage, @unchecked Sendable {}

/// A weight as the CPU uses it: f32 values (f32 weights in place from the memory map; f16 and bf16
/// widened on first use as f32, unless a kernel reads them directly) or q8 bytes + scales in place.
final class HostWeight: TensorStorageBase, @unchecked Sendable {
    let data: WeightData
    /// The CKernels GEMM over the stored bytes (q8, bf16, f16 matrices), used in place.
    let matmul: QuantizedMatmul?
    private let widens: Bool
    private let lock = NSLock()
    private var ownedFloats: UnsafeMutableBufferPointer<Float>?

    init(_ data: WeightData, widen: Bool, matmul: QuantizedMatmul? = nil) {
        self.data = data
        self.matmul = matmul
        widens = widen && data.dtype != .f32
    }

    /// f32 values when the weight is used through OpenBLAS or as an operand (f32 weights, norms,
    /// biases, conv kernels). f16 / bf16 ones are widened at the first call, not at load: a model
    /// that uses half its weights (a VAE that only decodes) keeps the other half as stored bytes, and
    /// conv kernels read by the direct conv3d (which packs from f16 / bf16) are never widened.
    var floats: UnsafeBufferPointer<Float>? {
        if data.dtype == .f32 { return data.data.bindMemory(to: Float.self) }
        guard widens else { return nil }
        return lock.withLock {
            if let ownedFloats { return UnsafeBufferPointer(ownedFloats) }
            let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: data.shape.count)
            Dequantize.toFloat(data, into: values)
            ownedFloats = values
            return UnsafeBufferPointer(values)
        }
    }

    /// The stored f16 / bf16 bits while they have not been widened (what the direct conv3d packs from).
    var halfBits: (bits: UnsafePointer<UInt16>, bf16: Bool)? {
        guard widens, data.dtype == .f16 || data.dtype == .bf16, lock.withLock({ ownedFloats == nil }) else { return nil }
        return (data.data.bindMemory(to: UInt16.self).baseAddress!, data.dtype == .bf16)
    }

    deinit { ownedFloats?.deallocate() }
}

/// An activation kept in f16 (`CPUBackend.compact`): the halves in a pooled buffer of half as many floats.
final class HostHalfBuffer: TensorStorageBase, @unchecked Sendable {
    let storage: HostBuffer
    let count: Int

    init(count: Int, pool: BufferPool) {
        storage = HostBuffer(count: (count + 1) / 2, pool: pool)
        self.count = count
    }

    var halves: UnsafeMutablePointer<UInt16> { UnsafeMutableRawPointer(storage.pointer).assumingMemoryBound(to: UInt16.self) }
}

/// Stored weight formats → f32.
enum Dequantize {
    static func toFloat(_ w: WeightData, into out: UnsafeMutableBufferPointer<Float>) {
        toFloat(w, rows: 0 ..< (w.shape.dims.first ?? 1), into: out)
    }

    /// Rows `rows` of a weight (seen as `[rows, columns]`) into `out` (row-major, `rows.count × columns`).
    static func toFloat(_ w: WeightData, rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>) {
        let columns = w.shape.dims.dropFirst().reduce(1, *)
        let start = rows.lowerBound * columns, n = rows.count * columns
        switch w.dtype {
        case .f32:
            let src = w.data.bindMemory(to: Float.self)
            for i in 0 ..< n { out[i] = src[start + i] }
        case .f16:
            let src = w.data.bindMemory(to: Float16.self)
            for i in 0 ..< n { out[i] = Float(src[start + i]) }
        case .bf16:
            let src = w.data.bindMemory(to: UInt16.self)
            for i in 0 ..< n { out[i] = Float(bitPattern: UInt32(src[start + i]) << 16) }
        case .q8(let requested):
            let group = requested == 0 || columns % requested != 0 ? columns : requested
            let q = w.data.bindMemory(to: Int8.self)
            let scales = w.scales!.bindMemory(to: Float16.self)
            for i in 0 ..< n { out[i] = Float(q[start + i]) * Float(scales[(start + i) / group]) }
        }
    }
}
