import CKernels
import Foundation
import Tensors

extension CPUBackend {
    /// The level the vector-math kernels (exp, activations, broadcast rows, norms, attention) run at:
    /// AVX2 + FMA where the CPU has it, unless `VACEKIT_CPU_KERNELS=portable` caps it.
    static let vectorLevel: Int32 = vk_vector_level(vk_kernel_level_from_env())

    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try profiler.measure("binary") { try binaryImpl(op, a, b) }
    }

    private func binaryImpl(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        // One loop per op (the operator inlined into it), so rows that run with step 1 vectorise.
        switch op {
        case .add: try rowMap2("binary", a, b) { x, xs, y, ys, o, n in Self.rowLoop(x, xs, y, ys, o, n, +) }
        case .sub: try rowMap2("binary", a, b) { x, xs, y, ys, o, n in Self.rowLoop(x, xs, y, ys, o, n, -) }
        case .mul: try rowMap2("binary", a, b) { x, xs, y, ys, o, n in Self.rowLoop(x, xs, y, ys, o, n, *) }
        case .div: try rowMap2("binary", a, b) { x, xs, y, ys, o, n in Self.rowLoop(x, xs, y, ys, o, n, /) }
        }
    }

    /// o[j] = f(x[j·xs], y[j·ys]) for steps 0 or 1, with the step cases split so each loop is plain.
    @inline(__always)
    static func rowLoop(_ x: UnsafePointer<Float>, _ xs: Int, _ y: UnsafePointer<Float>, _ ys: Int,
                        _ o: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Float, Float) -> Float) {
        switch (xs, ys) {
        case (0, 0): o.update(repeating: f(x[0], y[0]), count: n)
        case (0, _): let u = x[0]; for j in 0 ..< n { o[j] = f(u, y[j]) }
        case (_, 0): let v = y[0]; for j in 0 ..< n { o[j] = f(x[j], v) }
        default: for j in 0 ..< n { o[j] = f(x[j], y[j]) }
        }
    }

    public func modulate(_ x: Tensor, scale: Tensor, shift: Tensor) throws -> Tensor {
        try profiler.measure("modulate") { try modulateImpl(x, scale: scale, shift: shift) }
    }

    private func modulateImpl(_ x: Tensor, scale: Tensor, shift: Tensor) throws -> Tensor {
        _ = try OpShapes.broadcastsTo("modulate", x: x.shape, ["scale": scale.shape, "shift": shift.shape])
        let level = Self.vectorLevel
        return try rowMap3("modulate", x, scale, shift) { x, _, s, ss, b, bs, out, n in
            vk_modulate_row_f32(x, s, ss, b, bs, out, n, level)
        }
    }

    public func gatedResidual(_ x: Tensor, _ y: Tensor, gate: Tensor) throws -> Tensor {
        try profiler.measure("gatedResidual") { try gatedResidualImpl(x, y, gate: gate) }
    }

    private func gatedResidualImpl(_ x: Tensor, _ y: Tensor, gate: Tensor) throws -> Tensor {
        _ = try OpShapes.broadcastsTo("gatedResidual", x: x.shape, ["y": y.shape, "gate": gate.shape])
        let level = Self.vectorLevel
        return try rowMap3("gatedResidual", x, y, gate) { x, xs, y, ys, g, gs, out, n in
            vk_gated_residual_row_f32(x, xs, y, ys, g, gs, out, n, level)
        }
    }

    public func unary(_ op: UnaryOp, _ x: Tensor) throws -> Tensor {
        try profiler.measure("unary") { try unaryImpl(op, x) }
    }

    private func unaryImpl(_ op: UnaryOp, _ x: Tensor) throws -> Tensor {
        let input = try values(x, "unary").baseAddress!
        let (out, buffer) = allocate(x.shape)
        let o = buffer.pointer, level = Self.vectorLevel
        let kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
        switch op {
        case .geluTanh: kernel = { vk_gelu_tanh_f32($0, $1, $2, level) }
        case .silu: kernel = { vk_silu_f32($0, $1, $2, level) }
        case .gelu: kernel = { x, y, n in for i in 0 ..< n { y[i] = Float(0.5 * Double(x[i]) * (1 + erf(Double(x[i]) / 2.0.squareRoot()))) } }
        case .scale(let s): kernel = { x, y, n in for i in 0 ..< n { y[i] = x[i] * s } }
        case .clamp(let lo, let hi): kernel = { x, y, n in for i in 0 ..< n { y[i] = min(max(x[i], lo), hi) } }
        }
        parallelRanges(x.count, minChunk: 16384) { range in kernel(input + range.lowerBound, o + range.lowerBound, range.count) }
        return out
    }

    /// out = a ∘ b with NumPy broadcasting, a row (last dim) at a time: the kernel gets each operand's
    /// row start and step (1 = along the row, 0 = one value broadcast), the output row and its length.
    func rowMap2(_ op: String, _ a: Tensor, _ b: Tensor,
                 _ kernel: @escaping (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void) throws -> Tensor {
        let shape = try OpShapes.binary(a.shape, b.shape)
        let (av, bv) = (try values(a, op).baseAddress!, try values(b, op).baseAddress!)
        let (out, buffer) = allocate(shape)
        let o = buffer.pointer
        let rows = RowWalker(shape, [a.shape, b.shape])
        let steps = (rows.step(0), rows.step(1))
        parallelRanges(rows.count, minChunk: max(1, 16384 / rows.width)) { range in
            for r in range {
                kernel(av + rows.offset(r, operand: 0), steps.0, bv + rows.offset(r, operand: 1), steps.1, o + r * rows.width, rows.width)
            }
        }
        return out
    }

    /// One row kernel over the rows (last dim) of x with b and c broadcast against it: the kernel gets each
    /// operand's row start and step (1 = along the row, 0 = one value broadcast), the output row, its length.
    /// The callers check the operands with `OpShapes.broadcastsTo` first.
    func rowMap3(_ op: String, _ a: Tensor, _ b: Tensor, _ c: Tensor,
                 _ kernel: @escaping (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int,
                                      UnsafeMutablePointer<Float>, Int) -> Void) throws -> Tensor {
        let shape = a.shape
        let (av, bv, cv) = (try values(a, op).baseAddress!, try values(b, op).baseAddress!, try values(c, op).baseAddress!)
        let (out, buffer) = allocate(shape)
        let o = buffer.pointer
        let rows = RowWalker(shape, [a.shape, b.shape, c.shape])
        let steps = (rows.step(0), rows.step(1), rows.step(2))
        parallelRanges(rows.count, minChunk: max(1, 16384 / rows.width)) { range in
            for r in range {
                kernel(av + rows.offset(r, operand: 0), steps.0, bv + rows.offset(r, operand: 1), steps.1,
                       cv + rows.offset(r, operand: 2), steps.2, o + r * rows.width, rows.width)
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

    /// Where row `row` of the result starts in operand `k` (no allocation: called once per row).
    func offset(_ row: Int, operand k: Int) -> Int {
        var rest = row, offset = 0
        for d in stride(from: outer.count - 1, through: 0, by: -1) {
            let extent = max(outer[d], 1)
            offset += rest % extent * strides[k][d]
            rest /= extent
        }
        return offset
    }

    /// Operand k's step along a row: 1, or 0 when it is broadcast along the last dim.
    func step(_ k: Int) -> Int { strides[k].last ?? 0 }
}
