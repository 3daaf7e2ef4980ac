import Tensors

extension CPUBackend {
    /// `x · Wᵀ + b`. f32 weights: one OpenBLAS sgemm. q8 / bf16 / f16 matrices: `QuantizedMatmul` (CKernels)
    /// over the stored bytes, or with `linearPath: .reference` the path below (dequantize a panel of rows
    /// to f32, sgemm it), which tests keep as the yardstick of the kernels.
    public func linear(_ x: Tensor, _ weight: Tensor, bias: Tensor?) throws -> Tensor {
        try profiler.measure("linear") { try linearImpl(x, weight, bias: bias) }
    }

    private func linearImpl(_ x: Tensor, _ weight: Tensor, bias: Tensor?) throws -> Tensor {
        let outShape = try OpShapes.linear(x: x.shape, weight: weight.shape, bias: bias?.shape)
        let k = weight.shape[1], n = weight.shape[0], m = x.count / max(k, 1)
        let input = try values(x, "linear")
        let (out, buffer) = allocate(outShape)
        guard let stored = weight.storage as? HostWeight else { throw TensorError("linear", "weight does not belong to the CPU backend") }
        if let matmul = stored.matmul {
            let biasValues = try bias.map { try values($0, "linear") }
            gemmLock.withLock {
                matmul.apply(x: input.baseAddress!, m: m, bias: biasValues?.baseAddress, out: buffer.pointer,
                             mode: stored.data.q8Activations == .sixteenBit ? .w8a16 : q8Mode, workspace: workspace)
            }
            return out
        }
        if let w = stored.floats {
            BLAS.sgemm(m: m, n: n, k: k, a: input.baseAddress!, lda: k, b: w.baseAddress!, ldb: k, transposeB: true, c: buffer.pointer, ldc: n)
        } else {
            linearByPanels(input.baseAddress!, m: m, k: k, weight: stored.data, n: n, out: buffer.pointer)
        }
        if let bias { try addRowVector(buffer.pointer, rows: m, values(bias, "linear")) }
        return out
    }

    /// Reference path for stored (q8, bf16, f16) weights: 256 rows at a time to f32, then sgemm.
    func linearByPanels(_ x: UnsafePointer<Float>, m: Int, k: Int, weight: WeightData, n: Int, out: UnsafeMutablePointer<Float>) {
        let panel = 256
        let scratch = HostBuffer(count: panel * k, pool: pool)
        for start in stride(from: 0, to: n, by: panel) {
            let rows = start ..< min(n, start + panel)
            Dequantize.toFloat(weight, rows: rows, into: scratch.buffer)
            BLAS.sgemm(m: m, n: rows.count, k: k, a: x, lda: k, b: scratch.pointer, ldb: k, transposeB: true, c: out + start, ldc: n)
        }
    }

    func addRowVector(_ c: UnsafeMutablePointer<Float>, rows: Int, _ vector: UnsafeBufferPointer<Float>) {
        let n = vector.count
        let shared = SharedPointer(c)
        parallelRanges(rows, minChunk: 16) { range in
            for r in range { for j in 0 ..< n { shared[r * n + j] += vector[j] } }
        }
    }
}
