import Models
import Pipeline
import Tensors

/// A stand-in VAE with the Wan factors (16 channels, 4× in time, 8× in space) and a simple, exactly
/// computable map, so that the context assembly can be checked by hand: latent channel c of latent frame
/// j at (y, x) is `(c + 1) ·` the mean of RGB over the 8×8 block of pixel frame `4j` (frame 0 for j = 0).
/// It records what it was given.
final class TestVAE: VideoAutoencoder {
    let backend: any Backend
    var encoded: [Shape] = []
    var decoded: [Shape] = []
    init(backend: any Backend) { self.backend = backend }

    var latentChannels: Int { 16 }
    var temporalFactor: Int { 4 }
    var spatialFactor: Int { 8 }

    static func latent(_ video: [Float], frames t: Int, height h: Int, width w: Int, channel c: Int, frame j: Int, y: Int, x: Int) -> Float {
        let source = 4 * j
        var sum: Float = 0
        for ch in 0 ..< 3 { for dy in 0 ..< 8 { for dx in 0 ..< 8 { sum += video[((ch * t + source) * h + 8 * y + dy) * w + 8 * x + dx] } } }
        return Float(c + 1) * sum / 192
    }

    func encode(_ video: Tensor) throws -> Tensor {
        encoded.append(video.shape)
        let (t, h, w) = (video.shape[2], video.shape[3], video.shape[4])
        let v = try backend.floats(video)
        let lt = (t - 1) / 4 + 1
        var out: [Float] = []
        for c in 0 ..< 16 { for j in 0 ..< lt { for y in 0 ..< h / 8 { for x in 0 ..< w / 8 {
            out.append(Self.latent(v, frames: t, height: h, width: w, channel: c, frame: j, y: y, x: x))
        } } } }
        return try backend.tensor(out, [1, 16, lt, h / 8, w / 8])
    }

    /// Pixel (c, t, y, x) = latent channel c of latent frame ⌈t/4⌉ at (y/8, x/8), clamped to [−1, 1].
    func decode(_ latent: Tensor, options: VAEDecodeOptions) throws -> Tensor {
        decoded.append(latent.shape)
        let (lt, lh, lw) = (latent.shape[2], latent.shape[3], latent.shape[4])
        let z = try backend.floats(latent)
        let t = 4 * (lt - 1) + 1
        var out: [Float] = []
        for c in 0 ..< 3 { for f in 0 ..< t { for y in 0 ..< lh * 8 { for x in 0 ..< lw * 8 {
            let j = (f + 3) / 4
            out.append(min(max(z[((c * lt + j) * lh + y / 8) * lw + x / 8], -1), 1))
        } } } }
        return try backend.tensor(out, [1, 3, t, lh * 8, lw * 8])
    }
}
