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
    /// `x · Wᵀ + b` through matmul.glsl, or for a q8 weight through the W8A8 kernels when
    /// `q8Kernel(q8Mode)` says so (quantize_rows.glsl, then matmul_q8a8.glsl). Rows of x (and of the
    /// output) and rows of W are split into chunks whose windows fit the binding limit; every
    /// (row chunk, weight chunk) is one GEMM dispatch.
    public func linear(_ x: Tensor, _ weight: Tensor, bias: Tensor?) throws -> Tensor {
        try linear(x, weight, bias: bias, q8Mode: q8Mode)
    }

    /// `linear` under a given q8 mode (tests and the benchmark run both q8 kernels on one backend); a
    /// weight marked `Q8Activations.sixteenBit` always meets 16-bit activations.
    public func linear(_ x: Tensor, _ weight: Tensor, bias: Tensor?, q8Mode requested: Q8Mode) throws -> Tensor {
        let outShape = try OpShapes.linear(x: x.shape, weight: weight.shape, bias: bias?.shape)
        let k = weight.shape[1], n = weight.shape[0], m = x.count / max(k, 1)
        return try lock.withLock {
            let input = try operand(x, "linear")
            let w = WeightOperand(weight, try storage(weight, "linear"))
            let q8Mode = w.storage.q8Activations == .sixteenBit ? .w8a16 : requested
            let biasStorage = try bias.map { try operand($0, "linear") }
            let (out, output) = try makeActivation(outShape)
            guard m > 0, n > 0 else { return out }
            // W8A8: x's rows are quantized into a scratch buffer, one row chunk at a time.
            let packed = w.typeCode == 3 && q8Kernel(q8Mode) == .integerDotProduct ? PackedActivations(w) : nil
            let matrixCores = packed == nil && usesMatrixCores(rows: m, columns: n)
            let label = "linear " + (packed == nil ? w.label : Q8Kernel.integerDotProduct.rawValue) + (matrixCores ? " coopmat" : "")
            let limit = maxBindingBytes, slack = windowSlack
            let weightChunks = try BindingWindows.rowChunks(rows: n, perRow: [(k, w.storage.elementSize), (w.groupsPerRow, 2), (1, 4)],
                                                            limitBytes: limit, slack: slack, op: "linear")
            let tiles = GEMMTiles(rows: m, columns: n, sharedMemory: device.capabilities.maxComputeSharedMemorySize)
            // A row chunk of the output spans whole rows; the grid's y limit caps it too.
            let rowLimit = device.capabilities.maxComputeWorkGroupCount[1] * (matrixCores ? MatrixCoreTile.size : tiles.bm)
            var perRow = [(k, input.elementSize), (n, output.elementSize)]
            if let packed { perRow.append((packed.wordsPerRow + 1, 4)) }
            let rowChunks = try BindingWindows.rowChunks(rows: m, perRow: perRow, limitBytes: limit, slack: slack, op: "linear")
                .flatMap { range in stride(from: range.lowerBound, to: range.upperBound, by: rowLimit).map { $0 ..< min(range.upperBound, $0 + rowLimit) } }
            // One scratch for the largest row chunk, reused by the next chunks (dispatches are ordered).
            let scratch = try packed.map { try scratchWords($0.words(rows: rowChunks.map(\.count).max() ?? 0)) }
            for rows in rowChunks {
                let (xBinding, xBase) = bind(input, rows.lowerBound * k ..< rows.upperBound * k)
                if let packed, let scratch {
                    try recordQuantizeRows((xBinding, xBase), isHalf: input.isHalf, rows: rows.count, k: k, into: scratch, layout: packed, label: label)
                }
                for columns in weightChunks {
                    let (wBinding, wBase, sBinding, sBase) = w.bind(self, rows: columns, columns: k)
                    let (outBinding, outBase) = bind(output, rows.lowerBound * n + columns.lowerBound ..< (rows.upperBound - 1) * n + columns.upperBound)
                    var biasBinding = xBinding, biasBase: UInt32 = 0, flags: UInt32 = input.isHalf ? 1 : 0
                    if let biasStorage {
                        (biasBinding, biasBase) = bind(biasStorage, columns)
                        flags |= (biasStorage.isHalf ? 2 : 0) | 4
                    }
                    if let packed, let scratch {
                        try recordMatmulQ8A8(scratch: scratch, layout: packed, rows: rows.count, columns: columns.count, k: k,
                                             weight: (wBinding, wBase), scales: (sBinding, sBase), bias: (biasBinding, biasBase, flags),
                                             out: (outBinding, outBase, n), tiles: tiles, label: label)
                        continue
                    }
                    let push: [UInt32] = [UInt32(rows.count), UInt32(columns.count), UInt32(k), xBase,
                                          wBase, sBase, UInt32(w.group), UInt32(w.groupsPerRow),
                                          biasBase, outBase, UInt32(n), flags]
                    if matrixCores {
                        let tile = MatrixCoreTile.size
                        let groups = WorkgroupCount(x: (columns.count + tile - 1) / tile, y: (rows.count + tile - 1) / tile)
                        try record(.matmulCoopmat, specialization: [10: w.typeCode],
                                   [xBinding, wBinding, sBinding, biasBinding, outBinding], push: push, groups: groups, label: label)
                        continue
                    }
                    let groups = WorkgroupCount(x: (columns.count + tiles.bn - 1) / tiles.bn, y: (rows.count + tiles.bm - 1) / tiles.bm)
                    try record(.matmul, specialization: tiles.specialization(weightType: w.typeCode),
                               [xBinding, wBinding, sBinding, biasBinding, outBinding], push: push, groups: groups, label: label)
                }
            }
            return out
        }
    }
}

/// The output tile of the matrix-core kernel (matmul_coopmat.glsl: 64 × 64 per workgroup of four
/// 32-wide subgroups).
enum MatrixCoreTile {
    static let size = 64
}

extension VulkanBackend {
    /// The matrix-core kernel runs a linear when the device has it (VK_NV_cooperative_matrix with the
    /// kernel's fragment), activations are f16 (its tiles are f16: with f32 activations the scalar
    /// kernel keeps f32 inputs) and the product fills at least one 64 × 64 tile; a few-token linear
    /// (time embedding, modulation) stays on the scalar kernel.
    func usesMatrixCores(rows: Int, columns: Int) -> Bool {
        device.enabledFeatures.cooperativeMatrix && halfActivations && rows >= MatrixCoreTile.size && columns >= MatrixCoreTile.size
    }
}
