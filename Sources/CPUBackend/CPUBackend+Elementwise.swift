import Foundation
import Tensors

extension CPUBackend {
    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try profiler.measure("binary") { try binaryImpl(op, a, b) }
    }

    private func binaryImpl(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try broadcastMap("binary", a, b) { x, y in
            switch op {
            case .add: x + y
            case .sub: x - y
            case .mul: x * y
            case .div: x / y
            }
        }
    }

    public func modulate(_ x: Tensor, scale: Tensor, shift: Tensor) throws -> Tensor {
        try profiler.measure("modulate") { try modulateImpl(x, scale: scale, shift: shift) }
    }

    private func modulateImpl(_ x: Tensor, scale: Tensor, shift: Tensor) throws -> Tensor {
        try broadcastMap3("modulate", x, scale, shift) { x, s, b in x * (1 + s) + b }
    }

    public func gatedResidual(_ x: Tensor, _ y: Tensor, gate: Tensor) throws -> Tensor {
        try profiler.measure("gatedResidual") { try gatedResidualImpl(x, y, gate: gate) }
    }

    private func gatedResidualImpl(_ x: Tensor, _ y: Tensor, gate: Tensor) throws -> Tensor {
        try broadcastMap3("gatedResidual", x, y, gate) { x, y, g in x + g * y }
    }

    public func unary(_ op: UnaryOp, _ x: Tensor) throws -> Tensor {
        try profiler.measure("unary") { try unaryImpl(op, x) }
    }

    private func unaryImpl(_ op: UnaryOp, _ x: Tensor) throws -> Tensor {
        let input = try values(x, "unary")
        let (out, buffer) = allocate(x.shape)
        let o = SharedPointer(buffer.pointer)
        let f: (Float) -> Float
        switch op {
        // 0.5·v·(1 + tanh(u)) = v · σ(2u): one exp instead of a tanh.
        case .geluTanh: f = { v in v / (1 + exp(-1.595_769_1 * (v + 0.044715 * v * v * v))) }
        case .gelu: f = { v in Float(0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))) }
        case .silu: f = { v in v / (1 + exp(-v)) }
        case .scale(let s): f = { v in v * s }
        case .clamp(let lo, let hi): f = { v in min(max(v, lo), hi) }
        }
        parallelRanges(x.count, minChunk: 4096) { range in for i in range { o[i] = f(input[i]) } }
        return out
    }

    /// out = f(a, b) with NumPy broadcasting. Work is done a row (last dim) at a time: operand offsets
    /// are computed once per row, and the inner loop runs with stride 1 or 0.
    func broadcastMap(_ op: String, _ a: Tensor, _ b: Tensor, _ f: @escaping (Float, Float) -> Float) throws -> Tensor {
        let shape = try Broadcast.shape(a.shape, b.shape, op: op)
        let (av, bv) = (try values(a, op), try values(b, op))
        let (out, buffer) = allocate(shape)
        let o = SharedPointer(buffer.pointer)
        let rows = RowWalker(shape, [a.shape, b.shape])
        parallelRanges(rows.count, minChunk: max(1, 4096 / rows.width)) { range in
            for r in range {
                let (offsets, steps) = rows.offsets(r)
                let base = r * rows.width
                for j in 0 ..< rows.width { o[base + j] = f(av[offsets[0] + j * steps[0]], bv[offsets[1] + j * steps[1]]) }
            }
        }
        return out
    }

    func broadcastMap3(_ op: String, _ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: @escaping (Float, Float, Float) -> Float) throws -> Tensor {
        let shape = try Broadcast.shape(try Broadcast.shape(a.shape, b.shape, op: op), c.shape, op: op)
        guard shape == a.shape else { throw TensorError(op, "\(b.shape) and \(c.shape) must broadcast to x \(a.shape)") }
        let (av, bv, cv) = (try values(a, op), try values(b, op), try values(c, op))
        let (out, buffer) = allocate(shape)
        let o = SharedPointer(buffer.pointer)
        let rows = RowWalker(shape, [a.shape, b.shape, c.shape])
        parallelRanges(rows.count, minChunk: max(1, 4096 / rows.width)) { range in
            for r in range {
                let (offsets, steps) = rows.offsets(r)
                let base = r * rows.width
                for j in 0 ..< rows.width {
                    o[base + j] = f(av[offsets[0] + j * steps[0]], bv[offsets[1] + j * steps[1]], cv[offsets[2] + j * steps[2]])
                }
            }
        }
        return out
    }
}

/// Walks a broadcast result a row (last dim) at a time, giving each operand's offset and step.
struct RowWalker {
    let width: Int
    let count: Int
    private let outer: [Int]
    private let strides: [[Int]]

    init(_ shape: Shape, _ operands: [Shape]) {
        width = max(shape.dims.last ?? 1, 1)
        count = shape.count / width
        outer = Array(shape.dims.dropLast())
        strides = operands.map { Broadcast.strides(of: $0, in: shape) }
    }

    func offsets(_ row: Int) -> ([Int], [Int]) {
        var rest = row
        var offsets = [Int](repeating: 0, count: strides.count)
        for d in stride(from: outer.count - 1, through: 0, by: -1) {
            let i = rest % max(outer[d], 1)
            rest /= max(outer[d], 1)
            for k in 0 ..< strides.count { offsets[k] += i * strides[k][d] }
        }
        return (offsets, strides.map { $0.last ?? 0 })
    }
}
