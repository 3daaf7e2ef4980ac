import Foundation
import Tensors

/// Wan's 3-D rotary embedding (spec §3.4): each head's D/2 complex pairs are split into a time part
/// (D − 4⌊D/6⌋ dims) and height and width parts (2⌊D/6⌋ each); pair p of a part of width w rotates by
/// `position · 10000^(−2p / w)`. The same table serves every head. Angles in f64, tables in f32.
public enum WanRoPE {
    /// cos and sin tables `[F·Hp·Wp, D/2]` for a latent grid of `frames × height × width` tokens.
    public static func tables(frames: Int, height: Int, width: Int, headDim: Int) -> (cos: [Float], sin: [Float]) {
        let spatial = 2 * (headDim / 6)
        let temporal = headDim - 2 * spatial
        // (axis, first pair, pairs in the part, part width in dims)
        let parts = [(0, 0, temporal / 2, temporal), (1, temporal / 2, spatial / 2, spatial), (2, temporal / 2 + spatial / 2, spatial / 2, spatial)]
        let pairs = headDim / 2
        let tokens = frames * height * width
        var cosTable = [Float](repeating: 0, count: tokens * pairs), sinTable = cosTable
        for f in 0 ..< frames {
            for i in 0 ..< height {
                for j in 0 ..< width {
                    let token = (f * height + i) * width + j
                    let position = [f, i, j]
                    for (axis, first, count, partWidth) in parts {
                        for p in 0 ..< count {
                            let angle = Double(position[axis]) * pow(10000, -Double(2 * p) / Double(partWidth))
                            cosTable[token * pairs + first + p] = Float(cos(angle))
                            sinTable[token * pairs + first + p] = Float(sin(angle))
                        }
                    }
                }
            }
        }
        return (cosTable, sinTable)
    }
}
