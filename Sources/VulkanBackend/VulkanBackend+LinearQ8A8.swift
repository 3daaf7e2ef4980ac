import Tensors

/// x's rows as the W8A8 GEMM reads them (written by quantize_rows.glsl into a scratch buffer):
/// each weight group of a row in whole words of four int8, zero-padded, so that no word straddles
/// two groups; after the rows of a chunk, one f32 scale per row.
struct PackedActivations {
    let group: Int
    let groupsPerRow: Int
    let wordsPerGroup: Int

    init(_ weight: WeightOperand) {
        group = weight.group
        groupsPerRow = weight.groupsPerRow
        wordsPerGroup = (weight.group + 3) / 4
    }

    var wordsPerRow: Int { groupsPerRow * wordsPerGroup }

    /// Words of the scratch for `rows` rows: their packed words, then their scales.
    func words(rows: Int) -> Int { rows * (wordsPerRow + 1) }

    /// Words per GEMM step (BKW): up to 16 (64 k), never more than a group has, since a step stays
    /// within one group; fewer if the two tiles would not fit in shared memory.
    func stepWords(_ tiles: GEMMTiles, sharedMemory: Int) -> Int {
        var words = min(wordsPerGroup, 16)
        while words > 1 && (words * (tiles.bm + 1 + tiles.bn + 1) + tiles.bn) * 4 > sharedMemory { words /= 2 }
        return words
    }
}

extension VulkanBackend {
    /// A scratch buffer of `count` 32-bit words, written and read by dispatches only. Its region goes
    /// back to the pool when the storage does, at the end of the op: later dispatches that reuse it
    /// are ordered after these by the barrier between dispatches.
    func scratchWords(_ count: Int) throws -> VulkanTensorStorage {
        let bytes = max(count * 4, 4)
        let region = try pool.allocate(bytes, hostWrites: false)
        return VulkanTensorStorage(pool: pool, region: region, byteCount: bytes, dtype: .f32, isWeight: false)
    }

    /// quantize_rows.glsl over `rows` rows of x (bound at `x`, row 0 at element `xBase`) into the
    /// start of `scratch`.
    func recordQuantizeRows(_ x: (binding: BufferBinding, base: UInt32), isHalf: Bool, rows: Int, k: Int,
                            into scratch: VulkanTensorStorage, layout: PackedActivations, label: String) throws {
        let (scratchBinding, _) = bind(scratch, 0 ..< layout.words(rows: rows))
        let push: [UInt32] = [UInt32(rows), UInt32(k), x.base, UInt32(layout.group), UInt32(layout.wordsPerGroup),
                              UInt32(layout.wordsPerRow), UInt32(rows * layout.wordsPerRow), isHalf ? 1 : 0]
        try record(.quantizeRows, [x.binding, scratchBinding], push: push, groups: try groups(ofItems: rows), label: label)
    }

    /// matmul_q8a8.glsl: `rows` quantized rows in `scratch` times the weight rows bound in
    /// `weight` / `scales` (`columns` of them, each `k` long), into the output binding.
    func recordMatmulQ8A8(scratch: VulkanTensorStorage, layout: PackedActivations, rows: Int, columns: Int, k: Int,
                          weight: (binding: BufferBinding, base: UInt32), scales: (binding: BufferBinding, base: UInt32),
                          bias: (binding: BufferBinding, base: UInt32, flags: UInt32), out: (binding: BufferBinding, base: UInt32, ld: Int),
                          tiles: GEMMTiles, label: String) throws {
        let (scratchBinding, _) = bind(scratch, 0 ..< layout.words(rows: rows))
        let stepWords = layout.stepWords(tiles, sharedMemory: device.capabilities.maxComputeSharedMemorySize)
        let push: [UInt32] = [UInt32(rows), UInt32(columns), UInt32(k), UInt32(layout.wordsPerRow), UInt32(rows * layout.wordsPerRow),
                              weight.base, scales.base, UInt32(layout.group), UInt32(layout.groupsPerRow), UInt32(layout.wordsPerGroup),
                              bias.base, out.base, UInt32(out.ld), bias.flags]
        let specialization: [UInt32: UInt32] = [0: UInt32(tiles.bm), 1: UInt32(tiles.bn), 2: UInt32(stepWords), 3: UInt32(tiles.threads)]
        let groups = WorkgroupCount(x: (columns + tiles.bn - 1) / tiles.bn, y: (rows + tiles.bm - 1) / tiles.bm)
        try record(.matmulQ8A8, specialization: specialization, [scratchBinding, weight.binding, scales.binding, bias.binding, out.binding],
                   push: push, groups: groups, label: label)
    }
}
