import CKernels
import Foundation
import Tensors

extension CPUBackend {
    /// Flash-style attention on the CPU: for each (batch, head, block of queries), tiles of keys are
    /// scored, folded into a running max / sum (online softmax, f32) and their values accumulated; the
    /// scores of one tile are all the scratch a worker needs, whatever N is.
    ///
    /// With AVX2 the fused C kernel does it all (CKernels attention*.c: kᵀ and v packed once per head,
    /// 6 × 16 FMA register tiles, masked keys dropped at packing); otherwise the tiles are scored and
    /// accumulated with OpenBLAS sgemm around the plain-C softmax update.
    ///
    /// `precision: .bf16` on a CPU with AVX-512 BF16 runs the bf16 twin of the fused kernel
    /// (attention_bf16.c: vdpbf16ps tiles, twice the f32 kernel's products per cycle); elsewhere, or with
    /// VACEKIT_ATTENTION=f32, the f32 kernel.
    public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyMask: Tensor?, precision: AttentionPrecision) throws -> Tensor {
        try profiler.measure("attention") {
            let bf16 = precision == .bf16 && Self.bf16AttentionAvailable && q.shape[2] / max(heads, 1) <= Int(VK_ATTN_BF16_MAX_D)
            let level = bf16 ? Self.bf16AttentionLevel : Self.vectorLevel
            return try attention(q: q, k: k, v: v, heads: heads, keyMask: keyMask, level: level)
        }
    }

    /// The level token of the bf16 kernel in `attention(…, level:)` (above the vector levels).
    static let bf16AttentionLevel = Int32(vk_level_avx512) + 1
    /// Whether `precision: .bf16` reaches the bf16 kernel here: the CPU has AVX-512 BF16, the kernel level
    /// cap (VACEKIT_CPU_KERNELS) allows AVX-512, and VACEKIT_ATTENTION is not `f32`.
    public static let bf16AttentionAvailable: Bool = vk_attention_bf16_available() != 0
        && vk_kernel_level_from_env() >= Int32(vk_level_avx512)
        && ProcessInfo.processInfo.environment["VACEKIT_ATTENTION"] != "f32"

    /// Attention with an additive bias (T5's relative-position bias) and an explicit scale: the BLAS tile
    /// path, with the bias tile added to each score tile before the online-softmax update. (The fused
    /// AVX2 kernel drops masked keys at packing, which would shift the bias columns; at T5's sizes the
    /// attention is a small share of the encoder's work next to its linears.)
    public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyMask: Tensor?, bias: Tensor, scale: Float) throws -> Tensor {
        try profiler.measure("attention") {
            _ = try OpShapes.attention(q: q.shape, k: k.shape, v: v.shape, heads: heads, keyMask: keyMask?.shape, bias: bias.shape)
            let (nq, nk) = (q.shape[1], k.shape[1])
            let (qv, kv, vv) = (try values(q, "attention"), try values(k, "attention"), try values(v, "attention"))
            let mask = try keyMask.map { try values($0, "attention") }
            let biasValues = try values(bias, "attention")
            let (out, buffer) = allocate(q.shape)
            if q.count == 0 { return out }
            if nk == 0 { buffer.buffer.initialize(repeating: 0); return out }
            blasAttention(qv, kv, vv, mask, buffer.pointer, q.shape, nk: nk, heads: heads, scale: scale,
                          bias: (biasValues, bias.shape[0] == 1 ? 0 : heads * nq * nk))
            return out
        }
    }

    /// `attention` at a given kernel level (vk_level_*), so that the tests run both paths on one machine.
    func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyMask: Tensor?, level: Int32) throws -> Tensor {
        _ = try OpShapes.attention(q: q.shape, k: k.shape, v: v.shape, heads: heads, keyMask: keyMask?.shape, bias: nil)
        let nk = k.shape[1]
        let (qv, kv, vv) = (try values(q, "attention"), try values(k, "attention"), try values(v, "attention"))
        let mask = try keyMask.map { try values($0, "attention") }
        let (out, buffer) = allocate(q.shape)
        if q.count == 0 { return out }
        if nk == 0 { buffer.buffer.initialize(repeating: 0); return out }  // no key: nothing to attend to
        if level >= vk_level_avx2 {  // the f32 fused kernel, or its bf16 twin (bf16AttentionLevel)
            fusedAttention(qv, kv, vv, mask, buffer.pointer, q.shape, nk: nk, heads: heads, level: level)
        } else {
            blasAttention(qv, kv, vv, mask, buffer.pointer, q.shape, nk: nk, heads: heads)
        }
        return out
    }

    /// The fused kernel (f32 at `level`), or its bf16 twin at `bf16AttentionLevel`: kᵀ and v of every head
    /// packed once (a pooled buffer the size of k + v, or half of it in bf16 pairs), kept alive until the
    /// last worker is done with it, then the work items (batch, head, block of queries).
    private func fusedAttention(_ qv: UnsafeBufferPointer<Float>, _ kv: UnsafeBufferPointer<Float>, _ vv: UnsafeBufferPointer<Float>,
                                _ mask: UnsafeBufferPointer<Float>?, _ out: UnsafeMutablePointer<Float>, _ shape: Shape,
                                nk: Int, heads: Int, level: Int32) {
        let (batches, nq, d) = (shape[0], shape[1], shape[2] / heads)
        let bf16 = level == Self.bf16AttentionLevel
        let problem = vk_attention(q: qv.baseAddress, k: kv.baseAddress, v: vv.baseAddress, mask: mask?.baseAddress, out: out,
                                   batches: Int32(batches), nq: Int32(nq), nk: Int32(nk), heads: Int32(heads), d: Int32(d),
                                   scale: 1 / Float(d).squareRoot())
        withUnsafePointer(to: problem) { a in
            let packed = HostBuffer(count: bf16 ? (vk_attention_bf16_packed_bytes(a) + 3) / 4 : vk_attention_packed_floats(a), pool: pool)
            withExtendedLifetime(packed) {
                let floats = packed.pointer, halves = UnsafeMutableRawPointer(packed.pointer).assumingMemoryBound(to: UInt16.self)
                parallelRanges(batches * heads) { pairs in
                    let (b0, b1) = (Int32(pairs.lowerBound), Int32(pairs.upperBound))
                    if bf16 { vk_attention_bf16_pack(a, b0, b1, halves) } else { vk_attention_pack(a, b0, b1, floats) }
                }
                let scratchBytes = bf16 ? vk_attention_bf16_scratch_bytes(a) : vk_attention_scratch_bytes(a)
                parallelRanges(Int(vk_attention_items(a))) { items in
                    let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
                    defer { scratch.deallocate() }
                    let (i0, i1) = (Int32(items.lowerBound), Int32(items.upperBound))
                    if bf16 { vk_attention_bf16_run(a, halves, i0, i1, scratch) } else { vk_attention_run(a, floats, i0, i1, level, scratch) }
                }
            }
        }
    }

    /// Per (batch, head, 128 queries): 512-key tiles scored with one sgemm, the C softmax update, and
    /// the values accumulated with a second sgemm.
    private func blasAttention(_ qv: UnsafeBufferPointer<Float>, _ kv: UnsafeBufferPointer<Float>, _ vv: UnsafeBufferPointer<Float>,
                               _ mask: UnsafeBufferPointer<Float>?, _ out: UnsafeMutablePointer<Float>, _ shape: Shape,
                               nk: Int, heads: Int, scale explicitScale: Float? = nil,
                               bias: (values: UnsafeBufferPointer<Float>, batchStride: Int)? = nil) {
        let (batches, nq, width) = (shape[0], shape[1], shape[2])
        let d = width / heads
        let o = SharedPointer(out)
        let queryBlock = 128, keyBlock = 512
        let blocks = (nq + queryBlock - 1) / queryBlock
        let scale = explicitScale ?? 1 / Float(d).squareRoot()
        // The workers below call sgemm on small tiles: OpenBLAS must run each call single-threaded, or
        // its own thread pool and ours fight over the cores (and OpenBLAS spins waiting for itself).
        let blasThreads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = blasThreads }
        parallelRanges(batches * heads * blocks) { items in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock * keyBlock)
            let accumulator = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock * d)
            let runningMax = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock)
            let runningSum = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock)
            defer { scores.deallocate(); accumulator.deallocate(); runningMax.deallocate(); runningSum.deallocate() }
            for item in items {
                let (batch, head, block) = (item / (heads * blocks), item / blocks % heads, item % blocks)
                let q0 = block * queryBlock, rows = min(queryBlock, nq - q0)
                let qBase = qv.baseAddress! + (batch * nq + q0) * width + head * d
                accumulator.initialize(repeating: 0, count: rows * d)
                runningMax.initialize(repeating: -.infinity, count: rows)
                runningSum.initialize(repeating: 0, count: rows)
                for k0 in stride(from: 0, to: nk, by: keyBlock) {
                    let cols = min(keyBlock, nk - k0)
                    let kBase = kv.baseAddress! + (batch * nk + k0) * width + head * d
                    let vBase = vv.baseAddress! + (batch * nk + k0) * width + head * d
                    // scores = (q · kᵀ) / √d  [rows, cols]
                    BLAS.sgemm(m: rows, n: cols, k: d, a: qBase, lda: width, b: kBase, ldb: width, transposeB: true,
                               c: scores, ldc: cols, alpha: scale)
                    if let bias {  // scores += bias[batch, head, q0 ..< q0 + rows, k0 ..< k0 + cols]
                        let biasBase = bias.values.baseAddress! + batch * bias.batchStride + (head * nq + q0) * nk + k0
                        for r in 0 ..< rows {
                            for c in 0 ..< cols { scores[r * cols + c] += biasBase[r * nk + c] }
                        }
                    }
                    vk_softmax_tile_f32(scores, Int32(rows), Int32(cols), Int32(cols), mask.map { $0.baseAddress! + batch * nk + k0 },
                                        runningMax, runningSum, accumulator, Int32(d))
                    // accumulator += p · v  [rows, d]
                    BLAS.sgemm(m: rows, n: d, k: cols, a: scores, lda: cols, b: vBase, ldb: width, c: accumulator, ldc: d, beta: 1)
                }
                for r in 0 ..< rows {
                    let inverse = runningSum[r] > 0 ? 1 / runningSum[r] : 0
                    let outBase = (batch * nq + q0 + r) * width + head * d
                    for j in 0 ..< d { o[outBase + j] = accumulator[r * d + j] * inverse }
                }
            }
        }
    }

    public func rotary(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
        try profiler.measure("rotary") { try rotaryImpl(x, cos: cos, sin: sin) }
    }

    private func rotaryImpl(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
        _ = try OpShapes.rotary(x: x.shape, cos: cos.shape, sin: sin.shape)
        let (n, c, p) = (x.shape[1], x.shape[2], cos.shape[1])
        let input = try values(x, "rotary"), cv = try values(cos, "rotary"), sv = try values(sin, "rotary")
        let (out, buffer) = allocate(x.shape)
        let o = SharedPointer(buffer.pointer)
        parallelRanges(x.shape[0] * n, minChunk: 16) { rows in
            for row in rows {
                let token = row % n, base = row * c
                for pair in 0 ..< c / 2 {
                    let angle = token * p + pair % p
                    let (a, b) = (input[base + 2 * pair], input[base + 2 * pair + 1])
                    o[base + 2 * pair] = a * cv[angle] - b * sv[angle]
                    o[base + 2 * pair + 1] = a * sv[angle] + b * cv[angle]
                }
            }
        }
        return out
    }
}
