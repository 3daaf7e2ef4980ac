import Foundation

/// LTX-Video's rotary embedding (spec §3.4; LTX-Video `Transformer3DModel.precompute_freqs_cis`):
/// one angle table over the FULL stream width (not per head). Token (f, h, w) sits at the
/// fractional position p = (f·8/fps / 20, 32h / 2048, 32w / 2048) and u = 2p − 1; frequency k of
/// K = D/6 is `θ^(k/(K−1)) · π/2` and rotates by its frequency times u of one axis. Pairs are laid out
/// frequency-major, axis-minor (t, h, w, t, h, w, …) after D mod 6 identity slots at the start.
///
/// Everything is computed in f32 in the reference's order: the high frequencies (up to 10⁴·π/2 rad)
/// make the angles sensitive to every rounding step, so f64 here would be *less* like the reference.
public enum LTXRoPE {
    /// cos and sin tables `[F·H·W, D/2]` (one angle per adjacent pair of the D-wide q and k).
    /// - Parameters: `timeScale` multiplies the latent frame index (8 / frame rate); `spatialScale`
    ///   the row and column (the VAE's 32); `maxPositions` divide the three coordinates.
    public static func tables(frames: Int, height: Int, width: Int, dim: Int, theta: Float, maxPositions: [Float],
                              timeScale: Float, spatialScale: Float = 32) -> (cos: [Float], sin: [Float]) {
        let perAxis = dim / 6, identityPairs = (dim % 6) / 2, pairs = dim / 2
        let frequencies = baseFrequencies(count: perAxis, theta: theta)
        let tokens = frames * height * width
        var cosTable = [Float](repeating: 1, count: tokens * pairs), sinTable = [Float](repeating: 0, count: tokens * pairs)
        for f in 0 ..< frames {
            for h in 0 ..< height {
                for w in 0 ..< width {
                    let token = (f * height + h) * width + w
                    let coordinates = [Float(f) * timeScale, Float(h) * spatialScale, Float(w) * spatialScale]
                    let u = (0 ..< 3).map { coordinates[$0] / maxPositions[$0] * 2 - 1 }
                    for k in 0 ..< perAxis {
                        for axis in 0 ..< 3 {
                            let angle = frequencies[k] * u[axis]
                            let slot = token * pairs + identityPairs + k * 3 + axis
                            cosTable[slot] = Foundation.cos(angle)
                            sinTable[slot] = Foundation.sin(angle)
                        }
                    }
                }
            }
        }
        return (cosTable, sinTable)
    }

    /// `θ^linspace(0, 1, K) · π / 2` as torch computes it in f32 (linspace from both ends).
    static func baseFrequencies(count: Int, theta: Float) -> [Float] {
        let step: Float = count > 1 ? 1 / Float(count - 1) : 0
        return (0 ..< count).map { i in
            let exponent = i < count / 2 ? step * Float(i) : 1 - step * Float(count - 1 - i)
            return Foundation.pow(theta, exponent) * Float.pi / 2
        }
    }

    /// The time coordinate's scale for a frame rate: `1 / (fps / 8)` in f32, as the LTX-Video 0.9.1
    /// pipeline forms it (`1 / latent_frame_rates`).
    public static func timeScale(frameRate: Double, temporalFactor: Int = 8) -> Float {
        1 / Float(frameRate / Double(temporalFactor))
    }
}
