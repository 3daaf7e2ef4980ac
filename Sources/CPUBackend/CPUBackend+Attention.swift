import Foundation
import Tensors

extension CPUBackend {
    /// Flash-style attention on the CPU: for each (batch, head, block of 128 queries), key blocks of 512
    /// are scored with one sgemm, folded into a running max / sum (online softmax, f32), and their
    /// values accumulated with a second sgemm. Scratch is 128 × 512 scores per worker, whatever N is.
    public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyMask: Tensor?) throws -> Tensor {
        try profiler.measure("attention") { try attentionImpl(q: q, k: k, v: v, heads: heads, keyMask: keyMask) }
    }

    private func attentionImpl(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyMask: Tensor?) throws -> Tensor {
        guard q.shape.rank == 3, k.shape.rank == 3, k.shape == v.shape, q.shape[0] == k.shape[0], q.shape[2] == k.shape[2],
              heads > 0, q.shape[2] % heads == 0
        else { throw TensorError("attention", "q \(q.shape), k \(k.shape), v \(v.shape) with \(heads) heads") }
        let (batches, nq, width) = (q.shape[0], q.shape[1], q.shape[2])
        let nk = k.shape[1], d = width / heads
        if let keyMask, keyMask.shape.dims != [batches, nk] { throw TensorError("attention", "key mask \(keyMask.shape) for keys [\(batches), \(nk)]") }
        let (qv, kv, vv) = (try values(q, "attention"), try values(k, "attention"), try values(v, "attention"))
        let mask = try keyMask.map { try values($0, "attention") }
        let (out, buffer) = allocate(q.shape)
        let o = SharedPointer(buffer.pointer)
        let queryBlock = 128, keyBlock = 512
        let blocks = (nq + queryBlock - 1) / queryBlock
        let scale = 1 / Float(d).squareRoot()
        // The workers below call sgemm on small tiles: OpenBLAS must run each call single-threaded, or
        // its own thread pool and ours fight over the cores (and OpenBLAS spins waiting for itself).
        let blasThreads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = blasThreads }
        parallelRanges(batches * heads * blocks) { items in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock * keyBlock)
            let accumulator = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock * d)
            var runningMax = [Float](repeating: 0, count: queryBlock), runningSum = [Float](repeating: 0, count: queryBlock)
            defer { scores.deallocate(); accumulator.deallocate() }
            for item in items {
                let (batch, head, block) = (item / (heads * blocks), item / blocks % heads, item % blocks)
                let q0 = block * queryBlock, rows = min(queryBlock, nq - q0)
                let qBase = qv.baseAddress! + (batch * nq + q0) * width + head * d
                accumulator.initialize(repeating: 0, count: rows * d)
                for r in 0 ..< rows { runningMax[r] = -.infinity; runningSum[r] = 0 }
                for k0 in stride(from: 0, to: nk, by: keyBlock) {
                    let cols = min(keyBlock, nk - k0)
                    let kBase = kv.baseAddress! + (batch * nk + k0) * width + head * d
                    let vBase = vv.baseAddress! + (batch * nk + k0) * width + head * d
                    // scores = (q · kᵀ) / √d  [rows, cols]
                    BLAS.sgemm(m: rows, n: cols, k: d, a: qBase, lda: width, b: kBase, ldb: width, transposeB: true,
                               c: scores, ldc: cols, alpha: scale)
                    for r in 0 ..< rows {
                        let row = scores + r * cols
                        var blockMax = -Float.infinity
                        for c in 0 ..< cols {
                            if let mask, mask[batch * nk + k0 + c] == 0 { row[c] = -.infinity }
                            blockMax = max(blockMax, row[c])
                        }
                        let newMax = max(runningMax[r], blockMax)
                        if newMax == -.infinity { for c in 0 ..< cols { row[c] = 0 }; continue }  // all masked so far
                        let correction = runningMax[r] == -.infinity ? 0 : exp(runningMax[r] - newMax)
                        var sum: Float = 0
                        for c in 0 ..< cols { row[c] = exp(row[c] - newMax); sum += row[c] }
                        runningSum[r] = runningSum[r] * correction + sum
                        runningMax[r] = newMax
                        if correction != 1 { for j in 0 ..< d { accumulator[r * d + j] *= correction } }
                    }
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
        return out
    }

    public func rotary(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
        try profiler.measure("rotary") { try rotaryImpl(x, cos: cos, sin: sin) }
    }

    private func rotaryImpl(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
        guard x.shape.rank == 3, cos.shape == sin.shape, cos.shape.rank == 2, cos.shape[0] == x.shape[1],
              x.shape[2] % 2 == 0, (x.shape[2] / 2) % cos.shape[1] == 0
        else { throw TensorError("rotary", "x \(x.shape) with tables \(cos.shape)") }
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
