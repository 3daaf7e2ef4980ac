import Tensors

extension CPUBackend {
    /// Conv3d as im2col + sgemm, one output frame and a band of output rows at a time, so the column
    /// buffer stays near 32 M floats whatever the video size.
    public func conv3d(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ o: Conv3DOptions) throws -> Tensor {
        try profiler.measure("conv3d") { try conv3dImpl(x, weight, bias: bias, o) }
    }

    private func conv3dImpl(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ o: Conv3DOptions) throws -> Tensor {
        let outShape = try o.outputShape(input: x.shape, weight: weight.shape)
        let (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        let (outChannels, kt, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3], weight.shape[4])
        let (tOut, hOut, wOut) = (outShape[2], outShape[3], outShape[4])
        let input = try values(x, "conv3d"), kernel = try values(weight, "conv3d")
        let biasValues = try bias.map { try values($0, "conv3d") }
        let (out, buffer) = allocate(Shape([b, outChannels, tOut, hOut, wOut]))
        let depth = c * kt * kh * kw
        let band = max(1, min(hOut, (32 << 20) / max(depth * wOut, 1)))
        let columns = HostBuffer(count: depth * band * wOut, pool: pool)
        let col = SharedPointer(columns.pointer)
        let planeOut = hOut * wOut
        for batch in 0 ..< b {
            for frame in 0 ..< tOut {
                for row0 in stride(from: 0, to: hOut, by: band) {
                    let rows = min(band, hOut - row0), n = rows * wOut
                    // col[(ci, dt, dy, dx), (y, x)] = padded input sample
                    parallelRanges(depth, minChunk: 4) { items in
                        for item in items {
                            let dx = item % kw, dy = item / kw % kh, dt = item / (kw * kh) % kt, ci = item / (kw * kh * kt)
                            var sourceT = frame * o.stride.t + dt * o.dilation.t - o.temporalPadding.before
                            if o.temporalPadMode == .replicate { sourceT = min(max(sourceT, 0), t - 1) }
                            let plane = (sourceT >= 0 && sourceT < t) ? ((batch * c + ci) * t + sourceT) * h * w : -1
                            for y in 0 ..< rows {
                                let sy = (row0 + y) * o.stride.h + dy * o.dilation.h - o.padding.h
                                for xo in 0 ..< wOut {
                                    let sx = xo * o.stride.w + dx * o.dilation.w - o.padding.w
                                    let inside = plane >= 0 && sy >= 0 && sy < h && sx >= 0 && sx < w
                                    col[item * n + y * wOut + xo] = inside ? input[plane + sy * w + sx] : 0
                                }
                            }
                        }
                    }
                    let target = buffer.pointer + (batch * outChannels * tOut + frame) * planeOut + row0 * wOut
                    BLAS.sgemm(m: outChannels, n: n, k: depth, a: kernel.baseAddress!, lda: depth, b: columns.pointer, ldb: n,
                               c: target, ldc: tOut * planeOut)
                    if let biasValues {
                        for oc in 0 ..< outChannels { for i in 0 ..< n { target[oc * tOut * planeOut + i] += biasValues[oc] } }
                    }
                }
            }
        }
        return out
    }
}
