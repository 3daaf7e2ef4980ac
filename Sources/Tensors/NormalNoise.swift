import Foundation

/// Seeded standard-normal noise, the same on every backend and platform.
///
/// Generator: SplitMix64 (Steele, Lea & Flood 2014) seeded with `seed`, each pair of 53-bit uniforms
/// turned into two normals by the Box–Muller transform (f64 math, rounded to f32). It does not reproduce
/// PyTorch's generator: VaceKit runs are reproducible against VaceKit, and reference comparisons start
/// from noise recorded with the reference outputs.
public struct NormalNoise {
    private var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    private mutating func next() -> UInt64 { generator.next() }

    /// Uniform in (0, 1]: never 0, so that log() is finite.
    private mutating func uniform() -> Double { (Double(next() >> 11) + 1) / 9_007_199_254_740_992 }

    public mutating func values(_ count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            let radius = (-2 * log(uniform())).squareRoot()
            let angle = 2 * Double.pi * uniform()
            out[i] = Float(radius * cos(angle))
            if i + 1 < count { out[i + 1] = Float(radius * sin(angle)) }
            i += 2
        }
        return out
    }
}
