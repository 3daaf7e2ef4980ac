/// NumPy broadcasting of shapes: dims are aligned from the right; each pair must be equal or one of them 1.
public enum Broadcast {
    public static func shape(_ a: Shape, _ b: Shape, op: String) throws -> Shape {
        let rank = max(a.rank, b.rank)
        var dims = [Int](repeating: 1, count: rank)
        for i in 0 ..< rank {
            let x = i < rank - a.rank ? 1 : a.dims[i - (rank - a.rank)]
            let y = i < rank - b.rank ? 1 : b.dims[i - (rank - b.rank)]
            guard x == y || x == 1 || y == 1 else { throw TensorError(op, operand: "b", expected: "a shape that broadcasts with a \(a)", actual: "\(b)") }
            dims[i] = max(x, y)
        }
        return Shape(dims)
    }

    /// Strides of `shape` seen as `target` (0 on broadcast dims), for index arithmetic.
    public static func strides(of shape: Shape, in target: Shape) -> [Int] {
        let offset = target.rank - shape.rank
        let own = shape.strides
        return (0 ..< target.rank).map { i in
            i < offset || shape.dims[i - offset] == 1 ? 0 : own[i - offset]
        }
    }
}
