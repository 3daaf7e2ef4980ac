import Tensors

/// GEMM tiles: a BM × BN output tile per workgroup, BK deep, each invocation an 8 × 8 register
/// tile (gemm.glsl). 128 × 128 (256 invocations) when both sides are long, 64 × 64 otherwise, BM
/// down to 16 for short operands (a few tokens); BK as deep as shared memory allows. Chosen without
/// a GPU to measure on: revisit per vendor with timings.
struct GEMMTiles {
    var bm: Int, bn: Int, bk: Int

    init(rows: Int, columns: Int, sharedMemory: Int) {
        if rows >= 128 && columns >= 128 {
            (bm, bn) = (128, 128)
        } else {
            (bm, bn) = (rows <= 16 ? 16 : rows <= 32 ? 32 : 64, rows <= 32 && columns >= 128 ? 128 : 64)
        }
        let bytesPerK = (bm + 1 + bn + 1) * 4
        bk = [32, 16, 8].first { $0 * bytesPerK <= sharedMemory } ?? 8
    }

    var threads: Int { (bm / 8) * (bn / 8) }

    func specialization(weightType: UInt32) -> [UInt32: UInt32] {
        [0: UInt32(bm), 1: UInt32(bn), 2: UInt32(bk), 3: UInt32(threads), 10: weightType]
    }
}

/// A stored weight as the GEMM kernels read it (weights.glsl).
struct WeightOperand {
    let storage: VulkanTensorStorage
    let typeCode: UInt32
    let group: Int
    let groupsPerRow: Int

    init(_ t: Tensor, _ storage: VulkanTensorStorage) {
        self.storage = storage
        switch storage.dtype {
        case .f32: typeCode = 0
        case .f16: typeCode = 1
        case .bf16: typeCode = 2
        case .q8: typeCode = 3
        }
        let layout = WeightDecoding.q8Layout(storage.dtype, shape: storage.storedShape ?? t.shape)
        group = layout.group
        groupsPerRow = layout.groupsPerRow
    }

    var label: String { storage.dtype.name }

    /// Bindings of rows `rows` (each `columns` long): the weight words and the scales (the weight
    /// again when there are none), with the element bases of the first row.
    func bind(_ backend: VulkanBackend, rows: Range<Int>, columns: Int) -> (weight: BufferBinding, base: UInt32, scales: BufferBinding, scaleBase: UInt32) {
        let (weight, base) = backend.bind(storage, rows.lowerBound * columns ..< rows.upperBound * columns)
        guard let scales = storage.scales else { return (weight, base, weight, 0) }
        let (scaleBinding, scaleBase) = VulkanTensorStorage.binding(
            scales, bytes: rows.lowerBound * groupsPerRow * 2 ..< rows.upperBound * groupsPerRow * 2, elementSize: 2,
            alignment: backend.pool.alignment)
        return (weight, base, scaleBinding, UInt32(scaleBase))
    }
}

extension VulkanBackend {
    /// `x · Wᵀ + b` through matmul.glsl. Rows of x (and of the output) and rows of W are split into
    /// chunks whose windows fit the binding limit; every (row chunk, weight chunk) is one dispatch.
    public func linear(_ x: Tensor, _ weight: Tensor, bias: Tensor?) throws -> Tensor {
        guard weight.shape.rank == 2, let k = x.shape.dims.last, k == weight.shape[1] else {
            throw TensorError("linear", "x \(x.shape) · Wᵀ with W \(weight.shape): inner dims differ")
        }
        let n = weight.shape[0], m = x.count / max(k, 1)
        if let bias, bias.shape.count != n { throw TensorError("linear", "bias \(bias.shape) for \(n) outputs") }
        return try lock.withLock {
            let input = try operand(x, "linear")
            let w = WeightOperand(weight, try storage(weight, "linear"))
            let biasStorage = try bias.map { try operand($0, "linear") }
            let (out, output) = try makeActivation(Shape(x.shape.dims.dropLast() + [n]))
            guard m > 0, n > 0 else { return out }
            let label = "linear \(w.label)"
            let limit = maxBindingBytes, slack = windowSlack
            let weightChunks = try BindingWindows.rowChunks(rows: n, perRow: [(k, w.storage.elementSize), (w.groupsPerRow, 2), (1, 4)],
                                                            limitBytes: limit, slack: slack, op: "linear")
            let tiles = GEMMTiles(rows: m, columns: n, sharedMemory: device.capabilities.maxComputeSharedMemorySize)
            // A row chunk of the output spans whole rows; the grid's y limit caps it too.
            let rowLimit = device.capabilities.maxComputeWorkGroupCount[1] * tiles.bm
            let rowChunks = try BindingWindows.rowChunks(rows: m, perRow: [(k, input.elementSize), (n, output.elementSize)],
                                                         limitBytes: limit, slack: slack, op: "linear")
                .flatMap { range in stride(from: range.lowerBound, to: range.upperBound, by: rowLimit).map { $0 ..< min(range.upperBound, $0 + rowLimit) } }
            for rows in rowChunks {
                let (xBinding, xBase) = bind(input, rows.lowerBound * k ..< rows.upperBound * k)
                for columns in weightChunks {
                    let (wBinding, wBase, sBinding, sBase) = w.bind(self, rows: columns, columns: k)
                    let (outBinding, outBase) = bind(output, rows.lowerBound * n + columns.lowerBound ..< (rows.upperBound - 1) * n + columns.upperBound)
                    var biasBinding = xBinding, biasBase: UInt32 = 0, flags: UInt32 = input.isHalf ? 1 : 0
                    if let biasStorage {
                        (biasBinding, biasBase) = bind(biasStorage, columns)
                        flags |= (biasStorage.isHalf ? 2 : 0) | 4
                    }
                    let push: [UInt32] = [UInt32(rows.count), UInt32(columns.count), UInt32(k), xBase,
                                          wBase, sBase, UInt32(w.group), UInt32(w.groupsPerRow),
                                          biasBase, outBase, UInt32(n), flags]
                    let groups = WorkgroupCount(x: (columns.count + tiles.bn - 1) / tiles.bn, y: (rows.count + tiles.bm - 1) / tiles.bm)
                    try record(.matmul, specialization: tiles.specialization(weightType: w.typeCode),
                               [xBinding, wBinding, sBinding, biasBinding, outBinding], push: push, groups: groups, label: label)
                }
            }
            return out
        }
    }
}
