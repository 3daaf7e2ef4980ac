import Tensors

/// Exact row bands for the Wan2.1 decoder past its middle (`VAEDecodeOptions.rowBands`).
///
/// A decoder that streams in time holds, for every causal conv, its last 2 input frames; at 480×832 the
/// full-resolution stages alone hold 7 convs × 2 frames × 96 channels (1.1 GB in f16), set by the frame's
/// area. Run over a horizontal band of the frame, the stages need only the band's rows plus the rows their
/// 3×3 kernels reach across its edges — recomputed, not blended, so the band's rows are the whole frame's
/// to f32 rounding (unlike the overlap tiling of `--vae-tile`) — and its caches hold those rows only. The
/// middle (with its whole-frame attention) runs once per latent frame before the bands; its output, at the
/// latent size, is kept for them (compacted: in f16 where the backend keeps activations so, as the caches are —
/// then the bands are the whole frame's to f16 rounding of those, not f32).
struct WanDecoderBands {
    /// One band: the output rows it produces and the rows each stage entry takes (`rows[i]`: the input of
    /// `decoder.upsamples.i` at that stage's resolution; the last: the head's input).
    struct Band: Equatable {
        let output: Range<Int>
        let rows: [Range<Int>]
    }

    /// What a stage does to rows: `scale` 2 for an upsampler (nearest 2×, then its conv at the output size),
    /// `reach` the rows its convs read beyond each output row (a residual block: 1 + 1; a 3×3 conv: 1).
    struct Stage {
        let scale, reach: Int
    }

    /// `bands` bands of nearly equal height (multiples of 8 rows where the frame allows) for a decoder whose
    /// stages take `latentHeight` rows; `headReach`: the rows the head's conv reads beyond each output row.
    static func plan(latentHeight: Int, stages: [Stage], headReach: Int, bands: Int) -> [Band] {
        var heights = [latentHeight]
        for s in stages { heights.append(heights.last! * s.scale) }
        let height = heights.last!
        let edges = (0 ... bands).map { k in k == bands ? height : min(height, (k * height / bands + 4) / 8 * 8) }
        return (0 ..< bands).map { k in
            let output = edges[k] ..< edges[k + 1]
            var need = widen(output, by: headReach, within: height)
            var rows = [need]
            for i in stages.indices.reversed() {
                let s = stages[i], outer = widen(need, by: s.reach, within: heights[i + 1])
                need = s.scale == 1 ? outer : outer.lowerBound / s.scale ..< (outer.upperBound - 1) / s.scale + 1
                rows.append(need)
            }
            return Band(output: output, rows: rows.reversed())
        }
    }

    private static func widen(_ r: Range<Int>, by n: Int, within height: Int) -> Range<Int> {
        max(0, r.lowerBound - n) ..< min(height, r.upperBound + n)
    }
}

extension WanVAE {
    /// The planner's view of `decoder.upsamples`.
    var bandStages: [WanDecoderBands.Stage] {
        decoderStages.map { stage in
            switch stage {
            case .residual(let block): return .init(scale: 1, reach: block.conv1.spatialPadding + block.conv2.spatialPadding)
            case .resample(let r): return .init(scale: r.mode == .up ? 2 : 1, reach: r.spatial.spatialPadding)
            }
        }
    }

    /// Decodes in `bands` exact row bands, handing whole frames to `frames` in order: the bands before the
    /// last keep their rows of every frame (compacted) until the last band completes each frame.
    func decodeInBands(_ latent: Tensor, bands: Int, cache: WanVAECache, frames: (Tensor) throws -> Void) throws {
        try decodeInBands(latent, plan: bandPlan(latentHeight: latent.shape[3], bands: bands), cache: cache, frames: frames)
    }

    func bandPlan(latentHeight: Int, bands: Int) -> [WanDecoderBands.Band] {
        WanDecoderBands.plan(latentHeight: latentHeight, stages: bandStages, headReach: decoderHead.spatialPadding, bands: bands)
    }

    /// With a given plan — for the tests that show a band without its full reach is caught.
    func decodeInBands(_ latent: Tensor, plan: [WanDecoderBands.Band], cache: WanVAECache, frames: (Tensor) throws -> Void) throws {
        let b = backend
        let z = try postQuant(try b.binary(.add, try b.binary(.mul, latent, std), mean), cache, on: b)
        var middles: [Tensor] = []
        for chunk in Self.chunks(frames: z.shape[2], first: 1, rest: 1) {
            var x = try decoderIn(try b.slice(z, axis: 2, chunk), cache, on: b)
            try tap?("decoder.conv1", x)
            x = try decoderMiddle(x, cache, on: b)
            try tap?("decoder.middle", x)
            middles.append(try b.compact(x))
        }
        var earlier: [[Tensor?]] = []  // per earlier band, its pieces of the frames in order (let go as they are joined)
        for (k, band) in plan.enumerated() {
            let last = k == plan.count - 1, bandCache = WanVAECache(fault: cache.fault)
            var pieces: [Tensor?] = [], index = 0
            for middle in middles {
                try decodeStages(try b.concat([middle], axis: 2), from: 0, firstRow: 0, band: band, bandCache, split: true) { piece in
                    defer { index += 1 }
                    guard last else { return pieces.append(try b.compact(piece)) }
                    let above = earlier.indices.map { j in defer { earlier[j][index] = nil }; return earlier[j][index]! }
                    try frames(above.isEmpty ? piece : try b.concat(above + [piece], axis: 3))
                }
            }
            if !last { earlier.append(pieces) }
        }
    }

    /// Rows `to` of x, whose row 0 is frame row `from` (x itself when it holds exactly those).
    static func crop(_ x: Tensor, from: Int, to rows: Range<Int>, on b: any Backend) throws -> Tensor {
        if rows.lowerBound == from && rows.count == x.shape[3] { return x }
        return try b.slice(x, axis: 3, rows.lowerBound - from ..< rows.upperBound - from)
    }
}
