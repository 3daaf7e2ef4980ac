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

    /// The grid of LTX-Video's `RectifiedFlowScheduler(shifting="SD3", target_shift_terminal=0.1)` after
    /// `set_timesteps(N, samples)` (LTX-Video 0.9.1 `ltx_video/schedulers/rf.py`): `linspace(1, 1/N, N)` in
    /// f32; the resolution shift μ = 0.95 + 1.1·(m − 1024)/3072 over the m tokens being sampled (f64, linear,
    /// not clamped; VACE counts the reference frames too); σ = e^μ / (e^μ + (1/t − 1)) in f32 as torch forms
    /// it (the scalar over a tensor is a reciprocal times the scalar); then the terminal stretch
    /// σ ← 1 − (1 − σ)/k, k = (1 − σ_last)/(1 − terminal), so the last σ is the terminal value. The model's
    /// timestep is σ (× `timestepScale`, the transformer's `timestep_scale_multiplier`, in f32).
    /// One step would stretch 0/0 into NaN sigmas in the original; it is refused.
    public static func ltx(steps: Int, tokens: Int, terminal: Double = 0.1, timestepScale: Float = 1000) throws -> FlowSchedule {
        try check(steps: steps, shift: 1)
        guard steps >= 2 else {
            throw PipelineError.invalidOption(flag: "--steps", reason: "LTX-Video's schedule needs at least 2 steps (with 1 its terminal stretch divides 0 by 0), got \(steps)")
        }
        guard tokens > 0 else { throw PipelineError.mismatch("LTX schedule: \(tokens) latent tokens") }
        let grid = Self.linspaceF32(1, Float(1 / Double(steps)), steps)
        let slope = (2.05 - 0.95) / Double(4096 - 1024)
        let mu = slope * Double(tokens) + (0.95 - slope * 1024)
        let e = Float(Foundation.exp(mu))
        var sigmas: [Float] = grid.map { t in
            let denominator = e + (1 / t - 1)
            return (1 / denominator) * e
        }
        let scale = (1 - sigmas[steps - 1]) / Float(1 - terminal)
        sigmas = sigmas.map { 1 - (1 - $0) / scale }
        let timesteps = sigmas.map { Double($0 * timestepScale) }
        return FlowSchedule(sigmas: sigmas + [0], timesteps: timesteps)
    }

    /// torch.linspace in f32 as its CPU kernel forms it: the first half counts up from `start`, the second
    /// down from `end`, each value one fused multiply-add (matched bit for bit on AVX2).
    static func linspaceF32(_ start: Float, _ end: Float, _ count: Int) -> [Float] {
        guard count > 1 else { return [start] }
        let step = (end - start) / Float(count - 1)
        let half = count / 2
        return (0 ..< count).map { i in
            i < half ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(count - i - 1))
        }
    }

    static func check(steps: Int, shift: Double) throws {
        guard steps >= 1 else { throw PipelineError.invalidOption(flag: "--steps", reason: "must be at least 1, got \(steps)") }
        guard shift > 0, shift.isFinite else { throw PipelineError.invalidOption(flag: "--shift", reason: "must be positive, got \(shift)") }
    }
}
