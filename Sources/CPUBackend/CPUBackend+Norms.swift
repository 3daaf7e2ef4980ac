import CKernels
import Foundation
import Tensors

extension CPUBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try profiler.measure("layerNorm") { try layerNormImpl(x, weight: weight, bias: bias, eps: eps) }
    }

    private func layerNormImpl(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        let level = Self.vectorLevel
        return try rowNorm("layerNorm", x, weight: weight, bias: bias) { x, y, rows, n, w, b in
            vk_layer_norm_rows_f32(x, y, rows, n, w, b, eps, level)
        }
    }

    public func modulatedLayerNorm(_ x: Tensor, scale: Tensor, shift: Tensor, eps: Float) throws -> Tensor {
        try profiler.measure("modulatedLayerNorm") { try modulatedLayerNormImpl(x, scale: scale, shift: shift, eps: eps) }
    }

    /// One C call per row (norms.c): the statistics, then the modulated write, so the normalised row
    /// is never stored and read back as it is when `layerNorm` and `modulate` run one after the other.
    private func modulatedLayerNormImpl(_ x: Tensor, scale: Tensor, shift: Tensor, eps: Float) throws -> Tensor {
        let op = "modulatedLayerNorm"
        _ = try OpShapes.broadcastsTo(op, x: x.shape, ["scale": scale.shape, "shift": shift.shape])
        let (input, s, t) = (try values(x, op), try values(scale, op), try values(shift, op))
        let (out, buffer) = allocate(x.shape)
        guard x.count > 0, let xp = input.baseAddress, let sp = s.baseAddress, let tp = t.baseAddress else { return out }
        let o = buffer.pointer, level = Self.vectorLevel
        let rows = RowWalker(x.shape, [scale.shape, shift.shape])
        let (n, steps) = (rows.width, (rows.step(0), rows.step(1)))
        parallelRanges(rows.count, minChunk: max(1, 16384 / n)) { range in
            for r in range {
                vk_layer_norm_modulate_row_f32(xp + r * n, o + r * n, n, sp + rows.offset(r, operand: 0), steps.0,
                                               tp + rows.offset(r, operand: 1), steps.1, eps, level)
            }
        }
        return out
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor {
        try profiler.measure("rmsNorm") { try rmsNormImpl(x, weight: weight, eps: eps) }
    }

    private func rmsNormImpl(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor {
        let level = Self.vectorLevel
        return try rowNorm("rmsNorm", x, weight: weight, bias: nil) { x, y, rows, n, w, _ in
            vk_rms_norm_rows_f32(x, y, rows, n, w, eps, level)
        }
    }

    /// Runs a C row-norm kernel (CKernels norms.c: f32 blocked statistics) over ranges of rows of the
    /// last dim on all cores, after checking the affine parameters' sizes.
    private func rowNorm(_ op: String, _ x: Tensor, weight: Tensor?, bias: Tensor?,
                         _ kernel: @escaping (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int,
                                              UnsafePointer<Float>?, UnsafePointer<Float>?) -> Void) throws -> Tensor {
        _ = try OpShapes.rowNorm(op, x: x.shape, weight: weight?.shape, bias: bias?.shape)
        let n = x.shape.dims.last ?? 1
        let input = try values(x, op).baseAddress!
        let w = try weight.map { try values($0, op) }, b = try bias.map { try values($0, op) }
        let (out, buffer) = allocate(x.shape)
        let o = buffer.pointer
        guard n > 0 else { return out }
        let (wp, bp) = (w?.baseAddress, b?.baseAddress)
        parallelRanges(x.count / n, minChunk: max(1, 16384 / n)) { rows in
            kernel(input + rows.lowerBound * n, o + rows.lowerBound * n, rows.count, n, wp, bp)
        }
        return out
    }

    public func channelNorm(_ kind: ChannelNorm, _ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try profiler.measure("channelNorm") { try channelNormImpl(kind, x, weight: weight, bias: bias, eps: eps) }
    }

    private func channelNormImpl(_ kind: ChannelNorm, _ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        _ = try OpShapes.channelNorm(kind, x: x.shape, weight: weight?.shape, bias: bias?.shape)
        let batches = x.shape[0], channels = x.shape[1], spatial = x.count / max(batches * channels, 1)
        let input = try values(x, "channelNorm")
        let w = try weight.map { try values($0, "channelNorm") }, b = try bias.map { try values($0, "channelNorm") }
        let (out, buffer) = allocate(x.shape)
        let o = SharedPointer(buffer.pointer)
        switch kind {
        case .groupNorm(let groups):
            let per = channels / groups
            parallelRanges(batches * groups) { items in
                for item in items {
                    let (batch, group) = (item / groups, item % groups)
                    let start = (batch * channels + group * per) * spatial, n = per * spatial
                    var mean = 0.0, square = 0.0
                    for i in 0 ..< n { mean += Double(input[start + i]) }
                    mean /= Double(n)
                    for i in 0 ..< n { let d = Double(input[start + i]) - mean; square += d * d }
                    let inverse = Float(1 / (square / Double(n) + Double(eps)).squareRoot())
                    for i in 0 ..< n {
                        let c = group * per + i / spatial
                        o[start + i] = (input[start + i] - Float(mean)) * inverse * (w?[c] ?? 1) + (b?[c] ?? 0)
                    }
                }
            }
        case .wanRMS, .pixel:
            // Statistics over the channel dim at each position: blocks of consecutive positions of one batch item.
            let blocks = (spatial + 255) / 256, level = Self.vectorLevel, kindCode: Int32 = kind == .pixel ? 0 : 1
            let x = SharedPointer(UnsafeMutablePointer(mutating: input.baseAddress!))
            let wp = w.map { SharedPointer(UnsafeMutablePointer(mutating: $0.baseAddress!)) }, bp = b.map { SharedPointer(UnsafeMutablePointer(mutating: $0.baseAddress!)) }
            parallelRanges(batches * blocks) { items in
                for item in items {
                    let (batch, block) = (item / blocks, item % blocks)
                    let base = batch * channels * spatial
                    vk_channel_norm_f32(x.pointer + base, o.pointer + base, Int32(channels), spatial, block * 256, min(spatial, (block + 1) * 256),
                                        wp?.pointer, bp?.pointer, eps, kindCode, level)
                }
            }
        }
        return out
    }
}
