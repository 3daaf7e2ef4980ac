import Tensors

/// Spatial tiling of the decode for very large frames, the scheme of diffusers'
/// `AutoencoderKLLTXVideo.tiled_decode`: latent tiles of `tile` pixels start every `tile − overlap` pixels
/// (the last ones smaller), each is decoded on its own (streamed in time as usual), each decoded tile is
/// blended with the already blended tile above and to its left over `overlap` pixels (weights y/overlap),
/// and cropped to the stride. The result is close to, not equal to, the untiled decode: a tile does not see
/// its neighbours' context. Injected noise maps are cut to each tile.
extension LTXVAE {
    /// - tile, overlap: in latent pixels (the options' pixels ÷ 32).
    func decodeTiled(_ z: Tensor, scaledTimestep: Float?, noise: [String: Tensor], tile: Int, overlap: Int) throws -> Tensor {
        let b = backend, f = spatialFactor, stride = tile - overlap
        let (height, width) = (z.shape[3], z.shape[4])
        var blended: [[Tensor]] = []
        var rows: [Tensor] = []
        for i in Swift.stride(from: 0, to: height, by: stride) {
            var row: [Tensor] = [], cropped: [Tensor] = []
            for j in Swift.stride(from: 0, to: width, by: stride) {
                let (r, c) = (i ..< min(i + tile, height), j ..< min(j + tile, width))
                let part = try b.slice(try b.slice(z, axis: 3, r), axis: 4, c)
                let maps = try noise.mapValues { map in
                    let scale = map.shape[3] / height                                                  // this map's resolution
                    return try b.slice(try b.slice(map, axis: 3, r.lowerBound * scale ..< r.upperBound * scale), axis: 4,
                                       c.lowerBound * scale ..< c.upperBound * scale)
                }
                var t = try decodeRegion(part, scaledTimestep: scaledTimestep, noise: maps)             // [B, 3, F, 32·th, 32·tw]
                if let above = blended.last { t = try blend(above[row.count], t, axis: 3, extent: overlap * f) }
                if let left = row.last { t = try blend(left, t, axis: 4, extent: overlap * f) }
                row.append(t)
                cropped.append(try b.slice(try b.slice(t, axis: 3, 0 ..< min(stride * f, t.shape[3])), axis: 4, 0 ..< min(stride * f, t.shape[4])))
            }
            blended.append(row)
            rows.append(cropped.count == 1 ? cropped[0] : try b.concat(cropped, axis: 4))
        }
        return rows.count == 1 ? rows[0] : try b.concat(rows, axis: 3)
    }

    /// `next` with its first `extent` rows (axis 3) or columns (axis 4) mixed from `previous`'s last ones:
    /// `previous·(1 − y/extent) + next·(y/extent)` (diffusers `blend_v` / `blend_h`).
    private func blend(_ previous: Tensor, _ next: Tensor, axis: Int, extent requested: Int) throws -> Tensor {
        let k = backend, extent = min(previous.shape[axis], next.shape[axis], requested)
        guard extent > 0 else { return next }
        var shape = [1, 1, 1, 1, 1]
        shape[axis] = extent
        let ramp = try k.tensor((0 ..< extent).map { Float(Double($0) / Double(extent)) }, Shape(shape))
        let rest = try k.tensor((0 ..< extent).map { Float(1 - Double($0) / Double(extent)) }, Shape(shape))
        let tail = try k.slice(previous, axis: axis, previous.shape[axis] - extent ..< previous.shape[axis])
        let head = try k.slice(next, axis: axis, 0 ..< extent)
        let mixed = try k.binary(.add, try k.binary(.mul, tail, rest), try k.binary(.mul, head, ramp))
        guard next.shape[axis] > extent else { return mixed }
        return try k.concat([mixed, try k.slice(next, axis: axis, extent ..< next.shape[axis])], axis: axis)
    }
}
