import CKernels
import Tensors

extension CPUBackend {
    public func reshape(_ x: Tensor, _ shape: Shape) throws -> Tensor {
        _ = try OpShapes.reshape(x.shape, to: shape)
        return Tensor(shape: shape, dtype: x.dtype, storage: x.storage)
    }

    public func permute(_ x: Tensor, _ axes: [Int]) throws -> Tensor {
        try profiler.measure("permute") { try permuteImpl(x, axes) }
    }

    private func permuteImpl(_ x: Tensor, _ axes: [Int]) throws -> Tensor {
        _ = try OpShapes.permute(x.shape, axes)
        let shape = Shape(axes.map { x.shape[$0] })
        let source = x.shape.strides
        return try gather("permute", x, shape: shape, strides: axes.map { source[$0] }, offset: 0)
    }

    public func slice(_ x: Tensor, axis: Int, _ range: Range<Int>) throws -> Tensor {
        try profiler.measure("slice") { try sliceImpl(x, axis: axis, range) }
    }

    private func sliceImpl(_ x: Tensor, axis: Int, _ range: Range<Int>) throws -> Tensor {
        _ = try OpShapes.slice(x.shape, axis: axis, range)
        var dims = x.shape.dims
        dims[axis] = range.count
        return try gather("slice", x, shape: Shape(dims), strides: x.shape.strides, offset: range.lowerBound * x.shape.strides[axis])
    }

    /// out[i] = x[offset + Σ index_d · strides_d]: the strided copy behind permute and slice.
    private func gather(_ op: String, _ x: Tensor, shape: Shape, strides: [Int], offset: Int) throws -> Tensor {
        let input = try values(x, op)
        let (out, buffer) = allocate(shape)
        let o = SharedPointer(buffer.pointer)
        let width = shape.dims.last ?? 1, inner = strides.last ?? 1
        let outer = Array(shape.dims.dropLast()), outerStrides = Array(strides.dropLast())
        parallelRanges(shape.count / max(width, 1), minChunk: 16) { rows in
            for row in rows {
                var rest = row, source = offset
                for d in stride(from: outer.count - 1, through: 0, by: -1) {
                    source += rest % outer[d] * outerStrides[d]
                    rest /= outer[d]
                }
                for j in 0 ..< width { o[row * width + j] = input[source + j * inner] }
            }
        }
        return out
    }

    public func concat(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        try profiler.measure("concat") { try concatImpl(tensors, axis: axis) }
    }

    private func concatImpl(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        _ = try OpShapes.concat(tensors.map(\.shape), axis: axis)
        let first = tensors[0]
        var dims = first.shape.dims
        dims[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        let (out, buffer) = allocate(Shape(dims))
        let outer = dims[..<axis].reduce(1, *), inner = dims[(axis + 1)...].reduce(1, *)
        var position = 0
        for t in tensors {
            let span = t.shape[axis] * inner
            if let half = t.storage as? HostHalfBuffer {  // a compacted part: widened as it is copied
                let (src, dst) = (SharedPointer(half.halves), SharedPointer(buffer.pointer))
                let (stride, at) = (dims[axis] * inner, position)
                parallelRanges(outer * span, minChunk: 1 << 16) { range in
                    var i = range.lowerBound
                    while i < range.upperBound {  // runs within one outer row
                        let (o, j) = (i / span, i % span), n = min(span - j, range.upperBound - i)
                        vk_f16_to_f32_n(src.pointer + i, dst.pointer + o * stride + at + j, n)
                        i += n
                    }
                }
            } else {
                let input = try values(t, "concat")
                for o in 0 ..< outer {
                    (buffer.pointer + o * dims[axis] * inner + position).update(from: input.baseAddress! + o * span, count: span)
                }
            }
            position += span
        }
        return out
    }

    /// With `keptActivations: .f16`, x rounded to f16 in half the memory; otherwise x itself.
    public func compact(_ x: Tensor) throws -> Tensor {
        guard keptActivations == .f16, !(x.storage is HostHalfBuffer) else { return x }
        let input = try values(x, "compact")
        let half = HostHalfBuffer(count: x.count, pool: pool)
        let (src, dst) = (SharedPointer(UnsafeMutablePointer(mutating: input.baseAddress!)), SharedPointer(half.halves))
        parallelRanges(x.count, minChunk: 1 << 16) { range in
            vk_f32_to_f16_n(src.pointer + range.lowerBound, dst.pointer + range.lowerBound, range.count)
        }
        return Tensor(shape: x.shape, dtype: .f16, storage: half)
    }

    public func pad(_ x: Tensor, axis: Int, before: Int, after: Int, mode: PadMode) throws -> Tensor {
        try profiler.measure("pad") { try padImpl(x, axis: axis, before: before, after: after, mode: mode) }
    }

    private func padImpl(_ x: Tensor, axis: Int, before: Int, after: Int, mode: PadMode) throws -> Tensor {
        _ = try OpShapes.pad(x.shape, axis: axis, before: before, after: after, mode: mode)
        let input = try values(x, "pad")
        var dims = x.shape.dims
        let length = dims[axis]
        dims[axis] += before + after
        let (out, buffer) = allocate(Shape(dims))
        let outer = dims[..<axis].reduce(1, *), inner = dims[(axis + 1)...].reduce(1, *)
        for o in 0 ..< outer {
            for i in 0 ..< dims[axis] {
                let target = buffer.pointer + (o * dims[axis] + i) * inner
                var source = i - before
                if mode == .replicate { source = min(max(source, 0), length - 1) }
                if source < 0 || source >= length {
                    target.initialize(repeating: 0, count: inner)
                } else {
                    target.update(from: input.baseAddress! + (o * length + source) * inner, count: inner)
                }
            }
        }
        return out
    }

    public func interpolate(_ x: Tensor, size: [Int], mode: InterpolationMode) throws -> Tensor {
        try profiler.measure("interpolate") { try interpolateImpl(x, size: size, mode: mode) }
    }

    private func interpolateImpl(_ x: Tensor, size: [Int], mode: InterpolationMode) throws -> Tensor {
        _ = try OpShapes.interpolate(x.shape, size: size)
        let rank = x.shape.rank
        if mode == .nearest, size.count >= 2, Array(size.dropLast(2)) == Array(x.shape.dims[(rank - size.count) ..< (rank - 2)]),
           size[size.count - 2] % x.shape[rank - 2] == 0, size[size.count - 1] % x.shape[rank - 1] == 0 {
            return try upsampleNearest(x, by: (size[size.count - 2] / x.shape[rank - 2], size[size.count - 1] / x.shape[rank - 1]))
        }
        // Separable: one axis at a time (exact for nearest and for (tri)linear).
        var current = x
        for (i, target) in size.enumerated() {
            let axis = x.shape.rank - size.count + i
            if current.shape[axis] != target { current = try resizeAxis(current, axis: axis, to: target, mode: mode) }
        }
        return current.storage === x.storage ? try permute(x, Array(0 ..< x.shape.rank)) : current
    }

    /// Nearest by whole factors in the last two axes (the VAE decoders' 2× upsampling): output row y repeats
    /// input row y / fh with each sample fw times, in one pass over the rows on every core (the separable
    /// path copies the last axis one sample at a time).
    private func upsampleNearest(_ x: Tensor, by factor: (h: Int, w: Int)) throws -> Tensor {
        let input = SharedPointer(UnsafeMutablePointer(mutating: try values(x, "interpolate").baseAddress!))
        let rank = x.shape.rank, (h, w) = (x.shape[rank - 2], x.shape[rank - 1])
        var dims = x.shape.dims
        dims[rank - 2] = h * factor.h
        dims[rank - 1] = w * factor.w
        let (out, buffer) = allocate(Shape(dims))
        let output = SharedPointer(buffer.pointer), wide = w * factor.w
        parallelRanges(x.count / w * factor.h, minChunk: 64) { rows in
            for row in rows {
                let (plane, y) = (row / (h * factor.h), row % (h * factor.h))
                let source = input.pointer + (plane * h + y / factor.h) * w, target = output.pointer + row * wide
                for i in 0 ..< w {
                    let v = source[i]
                    for k in 0 ..< factor.w { target[i * factor.w + k] = v }
                }
            }
        }
        return out
    }

    /// PyTorch's `align_corners=False` source coordinate: (i + 0.5) · in/out − 0.5; nearest uses floor(i · in/out).
    private func resizeAxis(_ x: Tensor, axis: Int, to target: Int, mode: InterpolationMode) throws -> Tensor {
        let input = try values(x, "interpolate")
        var dims = x.shape.dims
        let length = dims[axis]
        dims[axis] = target
        let (out, buffer) = allocate(Shape(dims))
        let outer = dims[..<axis].reduce(1, *), inner = dims[(axis + 1)...].reduce(1, *)
        let ratio = Double(length) / Double(target)
        for o in 0 ..< outer {
            for i in 0 ..< target {
                let row = buffer.pointer + (o * target + i) * inner
                switch mode {
                case .nearest:
                    let s = min(Int(Double(i) * ratio), length - 1)
                    row.update(from: input.baseAddress! + (o * length + s) * inner, count: inner)
                case .linear:
                    let position = max((Double(i) + 0.5) * ratio - 0.5, 0)
                    let lo = min(Int(position), length - 1), hi = min(lo + 1, length - 1)
                    let t = Float(position - Double(lo))
                    let a = input.baseAddress! + (o * length + lo) * inner, b = input.baseAddress! + (o * length + hi) * inner
                    for j in 0 ..< inner { row[j] = a[j] * (1 - t) + b[j] * t }
                }
            }
        }
        return out
    }

    public func mean(_ x: Tensor, axis: Int) throws -> Tensor {
        try profiler.measure("mean") { try meanImpl(x, axis: axis) }
    }

    private func meanImpl(_ x: Tensor, axis: Int) throws -> Tensor {
        _ = try OpShapes.mean(x.shape, axis: axis)
        let input = try values(x, "mean")
        var dims = x.shape.dims
        let length = dims[axis]
        dims[axis] = 1
        let (out, buffer) = allocate(Shape(dims))
        let inner = dims[(axis + 1)...].reduce(1, *), outer = dims[..<axis].reduce(1, *)
        for o in 0 ..< outer {
            for j in 0 ..< inner {
                var sum = 0.0
                for i in 0 ..< length { sum += Double(input[(o * length + i) * inner + j]) }
                buffer.pointer[o * inner + j] = Float(sum / Double(max(length, 1)))
            }
        }
        return out
    }
}
