import Tensors

/// How ops keep every buffer binding within the device's `maxStorageBufferRange` (128 MiB on
/// lavapipe, 2–4 GiB on desktop GPUs): a dispatch binds only the byte window of each tensor it
/// touches, and ops whose windows would be too large are split into several dispatches.
///
/// Two splitters cover the op set:
/// - `rowChunks`: ops over rows (linear, norms, rotary, resize, mean) take a range of rows at a time.
/// - `BoxSplitter`: elementwise and copy kernels address every operand as a strided view over a box
///   of dims; the box is split along one dim (with the dims before it fixed), and each view's
///   window is the bounding range of what the sub-box touches (exact, since strides are ≥ 0).
enum BindingWindows {
    /// Ranges of `rows` such that, for every (elements per row, element size) in `perRow`, the rows of
    /// a range occupy at most `limitBytes` (minus the slack of aligning a window's start).
    static func rowChunks(rows: Int, perRow: [(elements: Int, elementSize: Int)], limitBytes: Int, slack: Int, op: String) throws -> [Range<Int>] {
        guard rows > 0 else { return [] }
        var maxRows = rows
        for (elements, size) in perRow where elements > 0 {
            let fit = (limitBytes - slack) / (elements * size)
            guard fit >= 1 else {
                throw TensorError(op, "one row of \(elements) elements (\(elements * size) bytes) exceeds the device's binding range of \(limitBytes) bytes")
            }
            maxRows = min(maxRows, fit)
        }
        return stride(from: 0, to: rows, by: maxRows).map { $0 ..< min(rows, $0 + maxRows) }
    }
}

/// A strided view of a tensor over a box: the element at index (i₀ … iᵣ₋₁) of the box is
/// `base + Σ i_d · strides[d]` of the tensor's storage.
struct StridedView {
    var base: Int
    var strides: [Int]
    var elementSize: Int
}

/// One dispatch's part of a box: its dims and, per view, where it starts, its strides and how many
/// elements from the start it spans (the window to bind).
struct BoxChunk {
    var dims: [Int]
    var starts: [Int]
    var strides: [[Int]]
    var extents: [Int]

    var count: Int { dims.reduce(1, *) }
}

enum BoxSplitter {
    /// Drops size-1 dims and merges neighbours that are contiguous in every view
    /// (stride_d == n_{d+1} · stride_{d+1}), so most ops reach the kernel with rank 1–3.
    static func coalesce(_ dims: [Int], _ strides: [[Int]]) -> ([Int], [[Int]]) {
        var outDims: [Int] = []
        var outStrides = strides.map { _ in [Int]() }
        for d in dims.indices where dims[d] != 1 {
            if let last = outDims.last,
               strides.indices.allSatisfy({ strides[$0][d] * dims[d] == outStrides[$0].last! }) {
                outDims[outDims.count - 1] = last * dims[d]
                for v in strides.indices { outStrides[v][outStrides[v].count - 1] = strides[v][d] }
            } else {
                outDims.append(dims[d])
                for v in strides.indices { outStrides[v].append(strides[v][d]) }
            }
        }
        return (outDims, outStrides)
    }

    /// Splits `dims` so that each chunk has at most `maxRank` dims and every view's window fits in
    /// `limitBytes − slack`. Dims are split outermost first: chunks fix the indices of dims
    /// 0 ..< p, take a range of dim p and all of the dims after it.
    static func chunks(_ dims: [Int], _ views: [StridedView], limitBytes: Int, slack: Int, maxRank: Int, op: String) throws -> [BoxChunk] {
        let rank = dims.count
        guard rank > 0 else {
            return [BoxChunk(dims: [1], starts: views.map(\.base), strides: views.map { _ in [0] }, extents: views.map { _ in 1 })]
        }
        let capacity = views.map { (limitBytes - slack) / $0.elementSize }
        for p in max(0, rank - maxRank) ..< rank {
            // Elements a view spans over dims p+1 ..< rank, beyond its start.
            let inner = views.map { view in (p + 1 ..< rank).reduce(0) { $0 + (dims[$1] - 1) * view.strides[$1] } }
            guard views.indices.allSatisfy({ inner[$0] + 1 <= capacity[$0] }) else { continue }
            var length = dims[p]
            for v in views.indices where views[v].strides[p] > 0 {
                length = min(length, (capacity[v] - inner[v] - 1) / views[v].strides[p] + 1)
            }
            var result: [BoxChunk] = []
            let prefixCount = dims[..<p].reduce(1, *)
            for prefix in 0 ..< prefixCount {
                // The fixed indices of dims 0 ..< p, and each view's offset for them.
                var rest = prefix
                var offsets = views.map(\.base)
                for d in stride(from: p - 1, through: 0, by: -1) {
                    let index = rest % dims[d]
                    rest /= dims[d]
                    for v in views.indices { offsets[v] += index * views[v].strides[d] }
                }
                for start in stride(from: 0, to: dims[p], by: length) {
                    let count = min(length, dims[p] - start)
                    result.append(BoxChunk(
                        dims: [count] + dims[(p + 1)...],
                        starts: views.indices.map { offsets[$0] + start * views[$0].strides[p] },
                        strides: views.map { Array($0.strides[p...]) },
                        extents: views.indices.map { (count - 1) * views[$0].strides[p] + inner[$0] + 1 }))
                }
            }
            return result
        }
        throw TensorError(op, "a box of \(dims) cannot be split into windows of \(limitBytes) bytes")
    }
}
