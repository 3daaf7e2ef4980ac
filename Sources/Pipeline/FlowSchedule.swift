import Foundation

/// The noise levels of a flow-matching run: `sigmas` (N + 1 values, the last 0) and the timestep the
/// transformer receives at each of the N steps. The sampler uses the exact sigma, the transformer its
/// timestep (an integer in the original Wan code, a float in diffusers).
public struct FlowSchedule: Sendable, Equatable {
    /// σ_0 … σ_{N−1}, 0 (f32, as both references store them).
    public var sigmas: [Float]
    /// t_0 … t_{N−1} on the 0…1000 scale.
    public var timesteps: [Double]

    public var steps: Int { timesteps.count }

    /// The grid of the original Wan solver (Wan2.1 `wan/utils/fm_solvers_unipc.py`,
    /// `FlowUniPCMultistepScheduler` built with shift 1, then `set_timesteps(N, shift=s)`):
    /// `linspace(σmax, 0, N + 1)[:-1]` in f64 with σmax = f32(1 − 1/1000) = 0.99900001287, shifted
    /// `s·g / (1 + (s − 1)·g)` in f64; timesteps are those f64 sigmas × 1000 truncated to integers
    /// (taken before the f32 cast of the sigmas); sigmas are then stored in f32 with a final 0.
    public static func wan(steps: Int, shift: Double) throws -> FlowSchedule {
        try check(steps: steps, shift: shift)
        let sigmaMax = Double(Float(1.0 - 1.0 / 1000))  // f32 train grid: 1 − alphas[::-1][0]
        let sigmaMin = 0.0
        var sigmas: [Float] = [], timesteps: [Double] = []
        for i in 0 ..< steps {
            let g = Double(i) * ((sigmaMin - sigmaMax) / Double(steps)) + sigmaMax  // numpy linspace: i·step + start
            let s = shift * g / (1 + (shift - 1) * g)
            sigmas.append(Float(s))
            timesteps.append((s * 1000).rounded(.towardZero))
        }
        sigmas.append(0)
        return FlowSchedule(sigmas: sigmas, timesteps: timesteps)
    }

    /// The grid of diffusers' `FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=s)` after
    /// `set_timesteps(N)` (diffusers 0.42.1 `scheduling_flow_match_euler_discrete.py`). The constructor
    /// shifts the f32 train grid `t/1000` (t = 1000 … 1), giving σmax = 1 and σmin = shift(0.001) in f32;
    /// `set_timesteps` takes `linspace(1000·σmax, 1000·σmin, N) / 1000` in f64 and shifts it a second time
    /// (f64), casts to f32, and the timesteps are the f32 sigmas × 1000 (f32), passed unrounded.
    public static func diffusersEuler(steps: Int, shift: Double) throws -> FlowSchedule {
        try check(steps: steps, shift: shift)
        let f32Shift = Float(shift)
        func shiftedF32(_ x: Float) -> Float { f32Shift * x / (1 + (f32Shift - 1) * x) }
        let sigmaMax = Double(shiftedF32(1000 / 1000))
        let sigmaMin = Double(shiftedF32(Float(1) / 1000))
        let (start, end) = (sigmaMax * 1000, sigmaMin * 1000)
        var sigmas: [Float] = [], timesteps: [Double] = []
        for i in 0 ..< steps {
            let t = steps == 1 ? start : Double(i) * ((end - start) / Double(steps - 1)) + start  // numpy linspace
            let g = (i == steps - 1 && steps > 1 ? end : t) / 1000
            let sigma = Float(shift * g / (1 + (shift - 1) * g))
            sigmas.append(sigma)
            timesteps.append(Double(sigma * 1000))
        }
        sigmas.append(0)
        return FlowSchedule(sigmas: sigmas, timesteps: timesteps)
    }

    static func check(steps: Int, shift: Double) throws {
        guard steps >= 1 else { throw PipelineError.invalidOption(flag: "--steps", reason: "must be at least 1, got \(steps)") }
        guard shift > 0, shift.isFinite else { throw PipelineError.invalidOption(flag: "--shift", reason: "must be positive, got \(shift)") }
    }
}
