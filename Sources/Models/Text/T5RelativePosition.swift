import Foundation

/// T5's bidirectional relative-position buckets (Raffel et al. 2020, §2.1; transformers modeling_t5.py
/// `T5Attention._relative_position_bucket`, wan/modules/t5.py `T5RelativeEmbedding`): half the buckets
/// for keys after the query; within each half, offsets below `maxExact` = buckets/4 get their own bucket,
/// larger ones share logarithmically wider buckets up to `maxDistance`.
enum T5RelativePosition {
    /// bucket[i·n + j] for query i and key j (relative position j − i) of an n-token sequence.
    static func buckets(tokens n: Int, numBuckets: Int, maxDistance: Int) -> [Int32] {
        let half = numBuckets / 2, maxExact = half / 2
        // f32 like the reference (log of a float tensor, truncated by .long()).
        let logRange = Float(log(Double(maxDistance) / Double(maxExact)))
        var out = [Int32](repeating: 0, count: n * n)
        for i in 0 ..< n {
            for j in 0 ..< n {
                let relative = j - i
                var bucket = relative > 0 ? half : 0
                let distance = abs(relative)
                if distance < maxExact {
                    bucket += distance
                } else {
                    let large = maxExact + Int(logf(Float(distance) / Float(maxExact)) / logRange * Float(half - maxExact))
                    bucket += min(large, half - 1)
                }
                out[i * n + j] = Int32(bucket)
            }
        }
        return out
    }

    /// The additive attention bias `[1, H, n, n]` from a table `[numBuckets, H]`: bias[h, i, j] = table[bucket(j − i), h].
    static func bias(table: [Float], heads: Int, buckets: [Int32], tokens n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: heads * n * n)
        for h in 0 ..< heads {
            for e in 0 ..< n * n { out[h * n * n + e] = table[Int(buckets[e]) * heads + h] }
        }
        return out
    }
}

