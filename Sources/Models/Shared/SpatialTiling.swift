import Tensors

/// Spatial tiling of a VAE decode for frames too large to decode at once: the latent is cut into
/// overlapping tiles, each decoded alone (whole in time), and the tiles are blended with linear ramps
/// across each overlap (as diffusers' `tiled_decode` blends neighbouring tiles). The result differs
/// from an untiled decode near tile seams only; the wider the overlap, the smaller the difference.
public struct SpatialTiling: Sendable {
    /// Tile side and overlap in output pixels; `factor` pixels per latent pixel.
    public var tile, overlap, factor: Int

    public init(tile: Int, overlap: Int, factor: Int) {
        self.tile = tile
        self.overlap = overlap
        self.factor = factor
    }

    /// Tile origins along one latent axis of `size`: tiles of `t`, stepping by `t − o`, the last flush with the end.
    static func starts(size: Int, tile t: Int, overlap o: Int) -> [Int] {
        guard size > t else { return [0] }
        var out: [Int] = [], start = 0
        while start + t < size {
            out.append(start)
            start += t - o
        }
        out.append(size - t)
        return out
    }

    /// Weight of output pixel `i` of a tile spanning `[start, start+len)` on an axis of `total` pixels,
    /// ramping up over the overlap at an inner leading edge and down at an inner trailing edge.
    static func ramp(_ i: Int, len: Int, start: Int, total: Int, overlap: Int) -> Float {
        guard overlap > 0 else { return 1 }
        var w: Float = 1
        if start > 0, i < overlap { w = min(w, (Float(i) + 0.5) / Float(overlap)) }
        if start + len < total, i >= len - overlap { w = min(w, (Float(len - i) - 0.5) / Float(overlap)) }
        return w
    }

    /// latent `[B, C, F, H, W]` → `decodeTile` of each tile, blended into `[B, C', F', H·factor, W·factor]`.
    public func decode(_ latent: Tensor, on b: any Backend, _ decodeTile: (Tensor) throws -> Tensor) throws -> Tensor {
        guard tile >= 2 * factor, tile % factor == 0, overlap >= 0, overlap % factor == 0, overlap < tile else {
            throw TensorError("--vae-tile", "tile \(tile) with overlap \(overlap): the tile must be a multiple of \(factor) of at least \(2 * factor) pixels, the overlap a multiple of \(factor) smaller than the tile")
        }
        let (lh, lw) = (latent.shape[3], latent.shape[4])
        let (t, o) = (tile / factor, overlap / factor)
        let rows = Self.starts(size: lh, tile: t, overlap: o), cols = Self.starts(size: lw, tile: t, overlap: o)
        if rows.count == 1 && cols.count == 1 { return try decodeTile(latent) }

        var sum: [Float] = [], weight: [Float] = []
        var outShape: [Int] = []
        for r in rows {
            for c in cols {
                let th = min(t, lh), tw = min(t, lw)
                let piece = try b.slice(try b.slice(latent, axis: 3, r ..< r + th), axis: 4, c ..< c + tw)
                let decoded = try decodeTile(piece)
                let d = decoded.shape
                let (ph, pw) = (d[3], d[4])
                guard ph == th * factor, pw == tw * factor else {
                    throw TensorError("SpatialTiling", "a \(th)×\(tw) latent tile decoded to \(ph)×\(pw), expected ×\(factor)")
                }
                let (H, W) = (lh * factor, lw * factor)
                if outShape.isEmpty {
                    outShape = [d[0], d[1], d[2], H, W]
                    sum = [Float](repeating: 0, count: outShape.reduce(1, *))
                    weight = [Float](repeating: 0, count: H * W)
                }
                let values = try b.floats(decoded)
                let (y0, x0) = (r * factor, c * factor)
                let wy = (0 ..< ph).map { Self.ramp($0, len: ph, start: y0, total: H, overlap: overlap) }
                let wx = (0 ..< pw).map { Self.ramp($0, len: pw, start: x0, total: W, overlap: overlap) }
                for y in 0 ..< ph { for x in 0 ..< pw { weight[(y0 + y) * W + x0 + x] += wy[y] * wx[x] } }
                for plane in 0 ..< d[0] * d[1] * d[2] {
                    for y in 0 ..< ph {
                        let source = (plane * ph + y) * pw, target = (plane * H + y0 + y) * W + x0
                        for x in 0 ..< pw { sum[target + x] += values[source + x] * wy[y] * wx[x] }
                    }
                }
            }
        }
        let plane = outShape[3] * outShape[4]
        for i in sum.indices { sum[i] /= weight[i % plane] }
        return try b.tensor(sum, Shape(outShape))
    }
}
