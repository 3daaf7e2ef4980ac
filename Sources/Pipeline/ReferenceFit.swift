/// Places a reference image on the output canvas as Wan2.1 `WanVace.prepare_source` does: scaled by
/// `s = min(H/h, W/w)` to `(int(h·s), int(w·s))` with bilinear interpolation (align_corners false, no
/// antialias: `F.interpolate(mode='bilinear')`), centred on a white canvas (+1). Never stretched or cropped.
public enum ReferenceFit {
    public static func letterbox(_ image: PixelVideo, width: Int, height: Int) -> PixelVideo {
        precondition(image.frames == 1, "a reference is one image")
        if image.width == width && image.height == height { return image }
        let scale = min(Double(height) / Double(image.height), Double(width) / Double(image.width))
        let (newHeight, newWidth) = (max(1, Int(Double(image.height) * scale)), max(1, Int(Double(image.width) * scale)))
        let resized = bilinear(image, width: newWidth, height: newHeight)
        let (top, left) = ((height - newHeight) / 2, (width - newWidth) / 2)
        var canvas = PixelVideo(width: width, height: height, frames: 1, constant: 1)
        for c in 0 ..< 3 {
            for y in 0 ..< newHeight {
                for x in 0 ..< newWidth {
                    canvas.values[(c * height + top + y) * width + left + x] = resized.values[(c * newHeight + y) * newWidth + x]
                }
            }
        }
        return canvas
    }

    /// torch `upsample_bilinear2d` (align_corners false): source `(i + 0.5)·(in/out) − 0.5`, clamped at 0,
    /// neighbours clamped to the edge; f32 weights like the CPU kernel.
    static func bilinear(_ image: PixelVideo, width: Int, height: Int) -> PixelVideo {
        func taps(_ outSize: Int, _ inSize: Int) -> [(Int, Int, Float)] {
            let scale = Float(inSize) / Float(outSize)
            return (0 ..< outSize).map { i in
                let src = max(0, (Float(i) + 0.5) * scale - 0.5)
                let i0 = min(Int(src), inSize - 1)
                let i1 = min(i0 + 1, inSize - 1)
                return (i0, i1, src - Float(i0))
            }
        }
        let ys = taps(height, image.height), xs = taps(width, image.width)
        var out = [Float](repeating: 0, count: 3 * height * width)
        for c in 0 ..< 3 {
            let plane = c * image.height * image.width
            for (y, (y0, y1, wy)) in ys.enumerated() {
                for (x, (x0, x1, wx)) in xs.enumerated() {
                    let v = image.values
                    let top = (1 - wx) * v[plane + y0 * image.width + x0] + wx * v[plane + y0 * image.width + x1]
                    let bottom = (1 - wx) * v[plane + y1 * image.width + x0] + wx * v[plane + y1 * image.width + x1]
                    out[(c * height + y) * width + x] = (1 - wy) * top + wy * bottom
                }
            }
        }
        return PixelVideo(width: width, height: height, frames: 1, values: out)
    }
}
