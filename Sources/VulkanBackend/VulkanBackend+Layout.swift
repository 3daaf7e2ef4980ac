import Tensors

extension VulkanBackend {
    // MARK: strided copies (layout.glsl MODE 0)

    /// Copies a box: out[outBase + Σ i·outStrides] = x[inBase + Σ i·inStrides] (zeros when `source`
    /// is nil), split so that every window fits a binding.
    private func copyBox(_ label: String, dims: [Int], from source: (storage: VulkanTensorStorage, base: Int, strides: [Int])?,
                         to output: VulkanTensorStorage, base outBase: Int, strides outStrides: [Int]) throws {
        guard dims.reduce(1, *) > 0 else { return }
        let maxRank = 6
        let strides = (source.map { [$0.strides] } ?? []) + [outStrides]
        let (merged, mergedStrides) = BoxSplitter.coalesce(dims, strides)
        var views = [StridedView(base: outBase, strides: mergedStrides.last!, elementSize: output.elementSize)]
        if let source { views.insert(StridedView(base: source.base, strides: mergedStrides[0], elementSize: source.storage.elementSize), at: 0) }
        let chunks = try BoxSplitter.chunks(merged, views, limitBytes: maxBindingBytes, slack: windowSlack, maxRank: maxRank, op: label)
        for chunk in chunks {
            let o = views.count - 1
            let (outBinding, outElement) = bind(output, chunk.starts[o] ..< chunk.starts[o] + chunk.extents[o])
            var (inBinding, inBase, flags) = (outBinding, UInt32(0), UInt32(2))
            if let source {
                (inBinding, inBase) = bind(source.storage, chunk.starts[0] ..< chunk.starts[0] + chunk.extents[0])
                flags = source.storage.isHalf ? 1 : 0
            }
            let rank = chunk.dims.count
            var push: [UInt32] = [UInt32(chunk.count), UInt32(rank), inBase, outElement, flags]
            push += (0 ..< maxRank).map { $0 < rank ? UInt32(chunk.dims[$0]) : 1 }
            push += (0 ..< maxRank).map { $0 < rank && source != nil ? UInt32(chunk.strides[0][$0]) : 0 }
            push += (0 ..< maxRank).map { $0 < rank ? UInt32(chunk.strides[o][$0]) : 0 }
            try record(.layout, specialization: [0: 0], [inBinding, outBinding], push: push, groups: try groups1D(chunk.count), label: label)
        }
    }

    public func permute(_ x: Tensor, _ axes: [Int]) throws -> Tensor {
        _ = try OpShapes.permute(x.shape, axes)
        return try lock.withLock {
            let input = try operand(x, "permute")
            let shape = Shape(axes.map { x.shape[$0] })
            let (out, output) = try makeActivation(shape)
            let source = x.shape.strides
            try copyBox("permute", dims: shape.dims, from: (input, 0, axes.map { source[$0] }), to: output, base: 0, strides: shape.strides)
            return out
        }
    }

    public func slice(_ x: Tensor, axis: Int, _ range: Range<Int>) throws -> Tensor {
        _ = try OpShapes.slice(x.shape, axis: axis, range)
        return try lock.withLock {
            let input = try operand(x, "slice")
            var dims = x.shape.dims
            dims[axis] = range.count
            let shape = Shape(dims)
            let (out, output) = try makeActivation(shape)
            let strides = x.shape.strides
            try copyBox("slice", dims: dims, from: (input, range.lowerBound * strides[axis], strides), to: output, base: 0, strides: shape.strides)
            return out
        }
    }

    public func concat(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        _ = try OpShapes.concat(tensors.map(\.shape), axis: axis)
        let first = tensors[0]
        return try lock.withLock {
            var dims = first.shape.dims
            dims[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
            let shape = Shape(dims)
            let (out, output) = try makeActivation(shape)
            let outStrides = shape.strides
            var position = 0
            for t in tensors {
                let input = try operand(t, "concat")
                try copyBox("concat", dims: t.shape.dims, from: (input, 0, t.shape.strides), to: output, base: position * outStrides[axis], strides: outStrides)
                position += t.shape[axis]
            }
            return out
        }
    }

    public func pad(_ x: Tensor, axis: Int, before: Int, after: Int, mode: PadMode) throws -> Tensor {
        _ = try OpShapes.pad(x.shape, axis: axis, before: before, after: after, mode: mode)
        return try lock.withLock {
            let input = try operand(x, "pad")
            let length = x.shape[axis]
            var dims = x.shape.dims
            dims[axis] += before + after
            let shape = Shape(dims)
            let (out, output) = try makeActivation(shape)
            let (inStrides, outStrides) = (x.shape.strides, shape.strides)
            try copyBox("pad", dims: x.shape.dims, from: (input, 0, inStrides), to: output, base: before * outStrides[axis], strides: outStrides)
            // The margins: zeros, or the edge slice repeated (input stride 0 along the axis).
            for (count, edge, start) in [(before, 0, 0), (after, length - 1, before + length)] where count > 0 {
                var margin = x.shape.dims
                margin[axis] = count
                var edgeStrides = inStrides
                edgeStrides[axis] = 0
                let source = mode == .replicate ? (input, edge * inStrides[axis], edgeStrides) : nil
                try copyBox("pad", dims: margin, from: source, to: output, base: start * outStrides[axis], strides: outStrides)
            }
            return out
        }
    }

    // MARK: resampling and reductions (layout.glsl MODE 1 and 2)

    public func interpolate(_ x: Tensor, size: [Int], mode: InterpolationMode) throws -> Tensor {
        _ = try OpShapes.interpolate(x.shape, size: size)
        return try lock.withLock {
            // Separable: one axis at a time (exact for nearest and for (tri)linear), as on the CPU.
            var current = x
            for (i, target) in size.enumerated() {
                let axis = x.shape.rank - size.count + i
                if current.shape[axis] != target { current = try resizeAxis(current, axis: axis, to: target, linear: mode == .linear) }
            }
            return current.storage === x.storage ? try permute(x, Array(0 ..< x.shape.rank)) : current
        }
    }

    /// [outer, length, inner] → [outer, target, inner] (align_corners false), outer rows split to fit.
    private func resizeAxis(_ x: Tensor, axis: Int, to target: Int, linear: Bool) throws -> Tensor {
        let input = try operand(x, "interpolate")
        var dims = x.shape.dims
        let length = dims[axis]
        dims[axis] = target
        let (out, output) = try makeActivation(Shape(dims))
        let outer = dims[..<axis].reduce(1, *), inner = dims[(axis + 1)...].reduce(1, *)
        guard out.count > 0 else { return out }
        let chunks = try BindingWindows.rowChunks(rows: outer, perRow: [(length * inner, input.elementSize), (target * inner, output.elementSize)],
                                                  limitBytes: maxBindingBytes, slack: windowSlack, op: "interpolate")
        for rows in chunks {
            let (inBinding, inBase) = bind(input, rows.lowerBound * length * inner ..< rows.upperBound * length * inner)
            let (outBinding, outBase) = bind(output, rows.lowerBound * target * inner ..< rows.upperBound * target * inner)
            let count = rows.count * target * inner
            let flags: UInt32 = (input.isHalf ? 1 : 0) | (linear ? 4 : 0)
            let push: [UInt32] = [UInt32(count), 0, inBase, outBase, flags, UInt32(length), UInt32(target), UInt32(inner)] + [UInt32](repeating: 0, count: 15)
            try record(.layout, specialization: [0: 1], [inBinding, outBinding], push: push, groups: try groups1D(count), label: "interpolate")
        }
        return out
    }

    public func mean(_ x: Tensor, axis: Int) throws -> Tensor {
        _ = try OpShapes.mean(x.shape, axis: axis)
        return try lock.withLock {
            let input = try operand(x, "mean")
            var dims = x.shape.dims
            let length = dims[axis]
            dims[axis] = 1
            let (out, output) = try makeActivation(Shape(dims))
            let inner = dims[(axis + 1)...].reduce(1, *), outer = dims[..<axis].reduce(1, *)
            guard out.count > 0 else { return out }
            guard length > 0 else {
                try copyBox("mean", dims: [out.count], from: nil, to: output, base: 0, strides: [1])
                return out
            }
            let chunks = try BindingWindows.rowChunks(rows: outer, perRow: [(length * inner, input.elementSize), (inner, output.elementSize)],
                                                      limitBytes: maxBindingBytes, slack: windowSlack, op: "mean")
            for rows in chunks {
                let (inBinding, inBase) = bind(input, rows.lowerBound * length * inner ..< rows.upperBound * length * inner)
                let (outBinding, outBase) = bind(output, rows.lowerBound * inner ..< rows.upperBound * inner)
                let count = rows.count * inner
                let push: [UInt32] = [UInt32(count), 0, inBase, outBase, input.isHalf ? 1 : 0, UInt32(length), UInt32(inner)] + [UInt32](repeating: 0, count: 16)
                try record(.layout, specialization: [0: 2], [inBinding, outBinding], push: push, groups: try groups1D(count), label: "mean")
            }
            return out
        }
    }
}

extension VulkanBackend {
    /// Activations already have the backend's precision (f16 with `activations: .f16`): kept as they are.
    public func compact(_ x: Tensor) throws -> Tensor { x }
}
