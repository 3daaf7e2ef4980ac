import Tensors

/// Tile sizes of attention.glsl for head dim D: BQ queries per workgroup (a multiple of the
/// shader's 4-query register blocks) and BKV keys per tile, as large as the shared memory allows
/// (Q tile, one padded K/V tile, the score tile and three row vectors).
struct AttentionTiles {
    var threads: Int, bq: Int, bkv: Int

    init?(headDim d: Int, sharedMemory: Int) {
        for bq in [16, 8, 4] {
            for bkv in [64, 32, 16, 8] where (bq * d + bkv * (d + 1) + bq * bkv + 3 * bq) * 4 <= sharedMemory {
                self.bq = bq
                self.bkv = bkv
                threads = bq / 4 * d >= 128 ? 128 : 64
                return
            }
        }
        return nil
    }

    func specialization(headDim d: Int) -> [UInt32: UInt32] {
        [0: UInt32(threads), 1: UInt32(d), 2: UInt32(bq), 3: UInt32(bkv), 4: UInt32((bq / 4 * d + threads - 1) / threads)]
    }
}

extension VulkanBackend {
    /// Flash attention (attention.glsl): grid = query blocks × heads × batch items. When the
    /// tensors exceed the binding limit, each batch item is its own dispatch (its K and V must fit)
    /// and its queries are split into chunks. The operand precision is the backend's activation
    /// precision (f16 or f32), whatever `precision` allows.
    public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyMask: Tensor?, precision: AttentionPrecision) throws -> Tensor {
        try attention(q: q, k: k, v: v, heads: heads, keyMask: keyMask, bias: nil, scale: nil)
    }

    /// The same kernel with T5's additive bias `[Bb, H, Nq, Nk]` added to the scaled scores (bound whole).
    public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyMask: Tensor?, bias: Tensor, scale: Float) throws -> Tensor {
        try attention(q: q, k: k, v: v, heads: heads, keyMask: keyMask, bias: .some(bias), scale: scale)
    }

    private func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyMask: Tensor?, bias: Tensor?, scale explicitScale: Float?) throws -> Tensor {
        _ = try OpShapes.attention(q: q.shape, k: k.shape, v: v.shape, heads: heads, keyMask: keyMask?.shape, bias: bias?.shape)
        let (batches, nq, width) = (q.shape[0], q.shape[1], q.shape[2])
        let nk = k.shape[1], d = width / heads
        guard let tiles = AttentionTiles(headDim: d, sharedMemory: device.capabilities.maxComputeSharedMemorySize) else {
            throw TensorError("attention", "head dim \(d) does not fit the device's \(device.capabilities.maxComputeSharedMemorySize) bytes of shared memory")
        }
        return try lock.withLock {
            let (qs, ks, vs) = (try operand(q, "attention"), try operand(k, "attention"), try operand(v, "attention"))
            let mask = try keyMask.map { try operand($0, "attention") }
            let biasStorage = try bias.map { try operand($0, "attention") }
            let (out, output) = try makeActivation(q.shape)
            guard out.count > 0 else { return out }
            var flags: UInt32 = (qs.isHalf ? 1 : 0) | (ks.isHalf ? 2 : 0) | (vs.isHalf ? 4 : 0)
            if let mask { flags |= 16 | (mask.isHalf ? 8 : 0) }
            if let biasStorage { flags |= 64 | (biasStorage.isHalf ? 32 : 0) }
            let scale = explicitScale ?? 1 / Float(d).squareRoot()
            let biasBatchStride = bias.map { $0.shape[0] == 1 ? 0 : heads * nq * nk } ?? 0
            let biasWhole = try biasStorage.map { try bindWhole($0, count: bias!.count, "attention") }
            let limit = maxBindingBytes - windowSlack
            let keysPerBatch = nk * width
            let fitsWhole = [(qs, nq), (ks, nk), (vs, nk), (output, nq)].allSatisfy { $0.0.elementSize * batches * $0.1 * width <= limit }
                && (mask.map { $0.elementSize * batches * nk <= limit } ?? true)
            // (batch range, query range) per dispatch.
            var parts: [(Range<Int>, Range<Int>)] = []
            if fitsWhole || nk == 0 {
                parts = [(0 ..< batches, 0 ..< nq)]
            } else {
                guard ks.elementSize * keysPerBatch <= limit, vs.elementSize * keysPerBatch <= limit else {
                    throw TensorError("attention", "keys of one batch item (\(nk) × \(width)) exceed the device's binding range of \(maxBindingBytes) bytes")
                }
                let queryChunks = try BindingWindows.rowChunks(rows: nq, perRow: [(width, qs.elementSize), (width, output.elementSize)],
                                                               limitBytes: maxBindingBytes, slack: windowSlack, op: "attention")
                for b in 0 ..< batches { for chunk in queryChunks { parts.append((b ..< b + 1, chunk)) } }
            }
            let zero = bind(output, 0 ..< 1).binding
            for (batchRange, queries) in parts {
                let first = batchRange.lowerBound, last = batchRange.upperBound - 1
                func window(_ storage: VulkanTensorStorage, rows: Int, _ range: Range<Int>) -> (BufferBinding, UInt32) {
                    bind(storage, (first * rows + range.lowerBound) * width ..< (last * rows + range.upperBound - 1) * width + width)
                }
                let (qBinding, qBase) = window(qs, rows: nq, queries)
                let (outBinding, outBase) = window(output, rows: nq, queries)
                let (kBinding, kBase) = window(ks, rows: nk, 0 ..< nk)
                let (vBinding, vBase) = window(vs, rows: nk, 0 ..< nk)
                var (maskBinding, maskBase) = (zero, UInt32(0))
                if let mask { (maskBinding, maskBase) = bind(mask, first * nk ..< (last + 1) * nk) }
                var (biasBinding, biasBase) = (zero, UInt32(0))
                if let biasWhole {
                    biasBinding = biasWhole.binding
                    biasBase = biasWhole.base + UInt32(first * biasBatchStride + queries.lowerBound * nk)
                }
                let push: [UInt32] = [UInt32(queries.count), UInt32(nk), UInt32(width), qBase, kBase, vBase, maskBase, outBase,
                                      UInt32(nq * width), UInt32(nk * width), UInt32(nk), UInt32(nq * width), flags, scale.bitPattern,
                                      biasBase, UInt32(biasBatchStride), UInt32(nq * nk)]
                let groups = WorkgroupCount(x: (queries.count + tiles.bq - 1) / tiles.bq, y: heads, z: batchRange.count)
                try record(.attention, specialization: tiles.specialization(headDim: d), [qBinding, kBinding, vBinding, maskBinding, outBinding, biasBinding],
                           push: push, groups: groups, label: "attention")
            }
            return out
        }
    }

    /// Rotary embedding (rotary.glsl), one invocation per pair; rows of x split to fit the binding limit.
    public func rotary(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
        _ = try OpShapes.rotary(x: x.shape, cos: cos.shape, sin: sin.shape)
        let (n, c, p) = (x.shape[1], x.shape[2], cos.shape[1])
        return try lock.withLock {
            let input = try operand(x, "rotary"), cosines = try operand(cos, "rotary"), sines = try operand(sin, "rotary")
            let (out, output) = try makeActivation(x.shape)
            guard x.count > 0 else { return out }
            let (cosBinding, cosBase) = try bindWhole(cosines, count: cos.count, "rotary")
            let (sinBinding, sinBase) = try bindWhole(sines, count: sin.count, "rotary")
            let halfMask: UInt32 = (input.isHalf ? 1 : 0) | (cosines.isHalf ? 2 : 0) | (sines.isHalf ? 4 : 0)
            let chunks = try BindingWindows.rowChunks(rows: x.shape[0] * n, perRow: [(c, input.elementSize), (c, output.elementSize)],
                                                      limitBytes: maxBindingBytes, slack: windowSlack, op: "rotary")
            for rows in chunks {
                let (xBinding, xBase) = bind(input, rows.lowerBound * c ..< rows.upperBound * c)
                let (outBinding, outBase) = bind(output, rows.lowerBound * c ..< rows.upperBound * c)
                let pairs = rows.count * c / 2
                let push: [UInt32] = [UInt32(pairs), UInt32(c), UInt32(n), UInt32(p), UInt32(rows.lowerBound),
                                      xBase, outBase, cosBase, sinBase, halfMask]
                try record(.rotary, [xBinding, cosBinding, sinBinding, outBinding], push: push, groups: try groups1D(pairs), label: "rotary")
            }
            return out
        }
    }
}
