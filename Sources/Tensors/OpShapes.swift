/// The shape rules of the op contract (`Backend`), in one place: every backend calls the rule of an op
/// before it touches any data, so that all backends accept and reject exactly the same inputs and name
/// the same operand in the error. Each rule is a few O(rank) comparisons and returns the output shape.
public enum OpShapes {
    /// A shape error naming the op, the operand, the expected and the actual value.
    static func mismatch(_ op: String, _ operand: String, expected: String, actual: String) -> TensorError {
        TensorError(op, operand: operand, expected: expected, actual: actual)
    }

    static func requireDims(_ op: String, _ operand: String, _ s: Shape) throws {
        for d in s.dims where d < 0 { throw mismatch(op, operand, expected: "dims ≥ 0", actual: "\(s)") }
    }

    static func requireAxis(_ op: String, _ axis: Int, _ x: Shape) throws {
        guard (0 ..< x.rank).contains(axis) else { throw mismatch(op, "axis", expected: "0 ..< \(x.rank) for x \(x)", actual: "\(axis)") }
    }

    /// `tensor(values, shape)`.
    public static func tensor(count: Int, _ shape: Shape) throws {
        try requireDims("tensor", "shape", shape)
        guard count == shape.count else { throw mismatch("tensor", "values", expected: "\(shape.count) for shape \(shape)", actual: "\(count)") }
    }

    // MARK: linear algebra

    /// `linear`: x `[..., K]`, W `[N, K]`, b `[N]` → `[..., N]`.
    public static func linear(x: Shape, weight: Shape, bias: Shape?) throws -> Shape {
        guard x.rank >= 1 else { throw mismatch("linear", "x", expected: "[..., K]", actual: "\(x)") }
        guard weight.rank == 2 else { throw mismatch("linear", "weight", expected: "[N, \(x[-1])]", actual: "\(weight)") }
        guard weight[1] == x[-1] else { throw mismatch("linear", "weight", expected: "[N, \(x[-1])] (K of x \(x))", actual: "\(weight)") }
        if let bias, bias.count != weight[0] { throw mismatch("linear", "bias", expected: "[\(weight[0])]", actual: "\(bias)") }
        var dims = x.dims
        dims[dims.count - 1] = weight[0]
        return Shape(dims)
    }

    // MARK: elementwise

    /// `binary`: NumPy broadcasting.
    public static func binary(_ a: Shape, _ b: Shape) throws -> Shape { try Broadcast.shape(a, b, op: "binary") }

    /// `modulate`, `gatedResidual`, `modulatedLayerNorm`: the two operands broadcast against x, the result x's shape.
    public static func broadcastsTo(_ op: String, x: Shape, _ operands: KeyValuePairs<String, Shape>) throws -> Shape {
        for (name, s) in operands {
            let offset = x.rank - s.rank
            guard offset >= 0, (0 ..< s.rank).allSatisfy({ s.dims[$0] == 1 || s.dims[$0] == x.dims[offset + $0] }) else {
                throw mismatch(op, name, expected: "a shape that broadcasts to x \(x)", actual: "\(s)")
            }
        }
        return x
    }

    // MARK: normalisation

    /// `layerNorm`, `rmsNorm`: rows of the last dim, affine `[C]`.
    public static func rowNorm(_ op: String, x: Shape, weight: Shape?, bias: Shape?) throws -> Shape {
        guard x.rank >= 1 else { throw mismatch(op, "x", expected: "[..., C]", actual: "\(x)") }
        if let weight, weight.count != x[-1] { throw mismatch(op, "weight", expected: "[\(x[-1])]", actual: "\(weight)") }
        if let bias, bias.count != x[-1] { throw mismatch(op, "bias", expected: "[\(x[-1])]", actual: "\(bias)") }
        return x
    }

    /// `channelNorm`: x `[B, C, ...]`, affine `[C]`; group norm's groups divide C.
    public static func channelNorm(_ kind: ChannelNorm, x: Shape, weight: Shape?, bias: Shape?) throws -> Shape {
        guard x.rank >= 2 else { throw mismatch("channelNorm", "x", expected: "[B, C, ...]", actual: "\(x)") }
        if let weight, weight.count != x[1] { throw mismatch("channelNorm", "weight", expected: "[\(x[1])]", actual: "\(weight)") }
        if let bias, bias.count != x[1] { throw mismatch("channelNorm", "bias", expected: "[\(x[1])]", actual: "\(bias)") }
        if case .groupNorm(let groups) = kind, groups <= 0 || x[1] % groups != 0 {
            throw mismatch("channelNorm", "groups", expected: "a divisor of \(x[1]) channels", actual: "\(groups)")
        }
        return x
    }

    // MARK: attention

    /// `attention`: q `[B, Nq, H·D]`, k and v `[B, Nk, H·D]`, key mask `[B, Nk]`, bias `[1 or B, H, Nq, Nk]` → q's shape.
    public static func attention(q: Shape, k: Shape, v: Shape, heads: Int, keyMask: Shape?, bias: Shape?) throws -> Shape {
        let op = "attention"
        guard q.rank == 3 else { throw mismatch(op, "q", expected: "[B, Nq, H·D]", actual: "\(q)") }
        guard heads > 0, q[2] % heads == 0 else { throw mismatch(op, "heads", expected: "a divisor of the width \(q[2])", actual: "\(heads)") }
        guard k.rank == 3, k[0] == q[0], k[2] == q[2] else { throw mismatch(op, "k", expected: "[\(q[0]), Nk, \(q[2])]", actual: "\(k)") }
        guard v == k else { throw mismatch(op, "v", expected: "\(k) (the shape of k)", actual: "\(v)") }
        if let keyMask, keyMask.dims != [q[0], k[1]] { throw mismatch(op, "keyMask", expected: "[\(q[0]), \(k[1])]", actual: "\(keyMask)") }
        if let bias, bias.rank != 4 || !(bias[0] == 1 || bias[0] == q[0]) || Array(bias.dims[1...]) != [heads, q[1], k[1]] {
            throw mismatch(op, "bias", expected: "[1 or \(q[0]), \(heads), \(q[1]), \(k[1])]", actual: "\(bias)")
        }
        return q
    }

    /// `rotary`: x `[B, N, C]`, tables `[N, P]` with P dividing C/2 → x's shape.
    public static func rotary(x: Shape, cos: Shape, sin: Shape) throws -> Shape {
        guard x.rank == 3, x[2] % 2 == 0 else { throw mismatch("rotary", "x", expected: "[B, N, C] with C even", actual: "\(x)") }
        guard cos.rank == 2, cos[0] == x[1], cos[1] > 0, (x[2] / 2) % cos[1] == 0 else {
            throw mismatch("rotary", "cos", expected: "[\(x[1]), P] with P dividing \(x[2] / 2)", actual: "\(cos)")
        }
        guard sin == cos else { throw mismatch("rotary", "sin", expected: "\(cos) (the shape of cos)", actual: "\(sin)") }
        return x
    }

    // MARK: convolution

    /// `conv3d`: x `[B, C, T, H, W]`, weight `[O, C, kT, kH, kW]`, bias `[O]` → `[B, O, T', H', W']`.
    public static func conv3d(x: Shape, weight: Shape, bias: Shape?, _ o: Conv3DOptions) throws -> Shape {
        let out = try o.outputShape(input: x, weight: weight)
        if let bias, bias.count != weight[0] { throw mismatch("conv3d", "bias", expected: "[\(weight[0])]", actual: "\(bias)") }
        return out
    }

    // MARK: layout

    /// `reshape`: the same element count.
    public static func reshape(_ x: Shape, to shape: Shape) throws -> Shape {
        try requireDims("reshape", "shape", shape)
        guard shape.count == x.count else { throw mismatch("reshape", "shape", expected: "\(x.count) elements (x \(x))", actual: "\(shape) of \(shape.count)") }
        return shape
    }

    /// `permute`: axes a permutation of 0 ..< rank.
    public static func permute(_ x: Shape, _ axes: [Int]) throws -> Shape {
        guard axes.count == x.rank, axes.allSatisfy({ (0 ..< x.rank).contains($0) }), Set(axes).count == axes.count else {
            throw mismatch("permute", "axes", expected: "a permutation of 0 ..< \(x.rank)", actual: "\(axes)")
        }
        return Shape(axes.map { x.dims[$0] })
    }

    /// `concat`: the same rank and dims outside `axis`.
    public static func concat(_ shapes: [Shape], axis: Int) throws -> Shape {
        guard let first = shapes.first else { throw mismatch("concat", "tensors", expected: "at least one", actual: "none") }
        try requireAxis("concat", axis, first)
        var dims = first.dims
        dims[axis] = 0
        for (i, s) in shapes.enumerated() {
            guard s.rank == first.rank, (0 ..< s.rank).allSatisfy({ $0 == axis || s.dims[$0] == first.dims[$0] }) else {
                throw mismatch("concat", "tensors[\(i)]", expected: "\(first) outside axis \(axis)", actual: "\(s)")
            }
            dims[axis] += s.dims[axis]
        }
        return Shape(dims)
    }

    /// `slice`: `range` inside `axis`.
    public static func slice(_ x: Shape, axis: Int, _ range: Range<Int>) throws -> Shape {
        try requireAxis("slice", axis, x)
        guard range.lowerBound >= 0, range.upperBound <= x.dims[axis] else {
            throw mismatch("slice", "range", expected: "inside 0 ..< \(x.dims[axis]) of axis \(axis) of \(x)", actual: "\(range)")
        }
        var dims = x.dims
        dims[axis] = range.count
        return Shape(dims)
    }

    /// `pad`: non-negative amounts; replicate needs an element to copy.
    public static func pad(_ x: Shape, axis: Int, before: Int, after: Int, mode: PadMode) throws -> Shape {
        try requireAxis("pad", axis, x)
        guard before >= 0, after >= 0 else { throw mismatch("pad", "before/after", expected: "≥ 0", actual: "(\(before), \(after))") }
        if mode == .replicate && x.dims[axis] == 0 { throw mismatch("pad", "x", expected: "axis \(axis) not empty (replicate)", actual: "\(x)") }
        var dims = x.dims
        dims[axis] += before + after
        return Shape(dims)
    }

    /// `interpolate`: 1 to rank trailing sizes, each positive.
    public static func interpolate(_ x: Shape, size: [Int]) throws -> Shape {
        guard !size.isEmpty, size.count <= x.rank, size.allSatisfy({ $0 > 0 }) else {
            throw mismatch("interpolate", "size", expected: "1 to \(x.rank) positive sizes for x \(x)", actual: "\(size)")
        }
        return Shape(Array(x.dims.dropLast(size.count)) + size)
    }

    /// `mean`: the axis kept as size 1.
    public static func mean(_ x: Shape, axis: Int) throws -> Shape {
        try requireAxis("mean", axis, x)
        var dims = x.dims
        dims[axis] = 1
        return Shape(dims)
    }
}
