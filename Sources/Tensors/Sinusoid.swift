import Foundation

/// Sinusoidal timestep embeddings, computed on the host in f64 (they are tiny) and then uploaded.
public enum Sinusoid {
    /// `[cos(t·ω_k) …, sin(t·ω_k) …]` with `ω_k = maxPeriod^(−k / (half − shift))`, k = 0 … half−1
    /// (`flipSinToCos` true puts cos first, as Wan and LTX do). Wan: shift 0; diffusers' LTX `Timesteps`:
    /// downscale shift 1 (`ω_k = e^(−ln(maxPeriod)·k / (half − 1))`).
    public static func embedding(_ t: Double, dim: Int, maxPeriod: Double = 10000, flipSinToCos: Bool = true, downscaleShift: Double = 0) -> [Float] {
        let half = dim / 2
        var out = [Float](repeating: 0, count: dim)
        for k in 0 ..< half {
            let omega = exp(-log(maxPeriod) * Double(k) / (Double(half) - downscaleShift))
            let (c, s) = (cos(t * omega), sin(t * omega))
            out[k] = Float(flipSinToCos ? c : s)
            out[half + k] = Float(flipSinToCos ? s : c)
        }
        return out
    }
}
