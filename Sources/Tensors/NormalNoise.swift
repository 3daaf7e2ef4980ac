import Foundation

/// Seeded standard-normal noise, the same on every backend and platform.
///
/// Generator: SplitMix64 (Steele, Lea & Flood 2014) seeded with `seed`, each pair of 53-bit uniforms
/// turned into two normals by the Box–Muller transform (f64 math, rounded to f32). It does not reproduce
/// PyTorch's generator: VaceKit runs are reproducible against VaceKit, and reference comparisons start
/// from noise recorded with the reference outputs.
public struct NormalNoise {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

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
