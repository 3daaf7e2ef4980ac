import Tensors

/// Which row of an operand broadcast against x serves row r of x (rows = the last dim), when that is
/// `(r / div) mod count`: the operand follows one contiguous run of x's leading dims and is broadcast
/// over the others. Kernels that work a row at a time (norms.glsl) index it with two numbers instead
/// of per-dim strides. adaLN modulation `[B, 1, C]` against `[B, L, C]`: div L, count B; `[C]`:
/// count 1; `[B, L, C]`: div 1, count B·L. `[2, 1, 4, C]` against `[2, 3, 4, C]` follows two runs
/// and has no such form.
struct RowBroadcast: Equatable {
    var div: Int
    var count: Int
    /// 1 when the operand runs along the row, 0 when one value of it is broadcast along the row.
    var step: Int

    /// nil when `operand` does not broadcast to `x` or follows more than one run of its leading dims.
    init?(_ operand: Shape, rowsOf x: Shape) {
        guard (try? Broadcast.shape(x, operand, op: "")) == x else { return nil }
        let strides = Broadcast.strides(of: operand, in: x)
        let leading = Array(x.dims.dropLast())
        let followed = leading.indices.filter { strides[$0] != 0 && leading[$0] > 1 }
        step = (strides.last ?? 0) != 0 ? 1 : 0
        guard let first = followed.first, let last = followed.last else {
            (div, count) = (1, 1)
            return
        }
        guard last - first + 1 == followed.count else { return nil }
        count = leading[first ... last].reduce(1, *)
        div = leading[(last + 1)...].reduce(1, *)
    }
}
