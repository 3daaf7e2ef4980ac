/// Copies a strided view's elements into row-major order.
///
/// torch.save keeps a view as (storage, offset, shape, strides) instead of compacting it, so a saved
/// `w.t()` points at the untransposed bytes. Offsets were validated against the storage when the file
/// opened, so every index here is in bounds.
enum PTHStridedGather {
    /// The view's raw elements, row-major, `elementCount × byteSize` bytes.
    static func gather(_ entry: PTHTensorEntry, storage: UnsafeRawBufferPointer) -> [UInt8] {
        let size = entry.dtype.byteSize
        let count = entry.elementCount
        var out = [UInt8](repeating: 0, count: count * size)
        guard count > 0 else { return out }
        let rank = entry.shape.count
        // Odometer over all but the last dimension; the last one is the inner loop.
        let inner = entry.shape.last ?? 1, innerStride = entry.strides.last ?? 0
        var position = [Int](repeating: 0, count: max(rank - 1, 0))
        var rowStart = entry.storageOffset
        out.withUnsafeMutableBytes { destination in
            var written = 0
            while written < count {
                for i in 0 ..< inner {
                    let source = (rowStart + i * innerStride) * size
                    destination.baseAddress!.advanced(by: written * size)
                        .copyMemory(from: storage.baseAddress!.advanced(by: source), byteCount: size)
                    written += 1
                }
                // Advance the odometer; carry into outer dimensions.
                var dim = rank - 2
                while dim >= 0 {
                    position[dim] += 1
                    rowStart += entry.strides[dim]
                    if position[dim] < entry.shape[dim] { break }
                    rowStart -= entry.strides[dim] * entry.shape[dim]
                    position[dim] = 0
                    dim -= 1
                }
            }
        }
        return out
    }
}
