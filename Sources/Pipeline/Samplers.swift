import Foundation

/// A flow-matching solver: given the (guided) velocity at step i and the current sample, returns the
/// sample at step i + 1. Samples are the latents as the transformer sees them, flat f32 on the host
/// (the solver's arithmetic is a few multiply-adds per value; the host keeps it identical on every backend).
public protocol FlowSampler {
    var schedule: FlowSchedule { get }
    mutating func step(_ index: Int, velocity: [Float], sample: [Float]) -> [Float]
}

public enum SamplerKind: String, CaseIterable, Sendable {
    case unipc, euler

    /// The sampler with its own grid: UniPC on the original Wan grid, Euler on diffusers' grid.
    public func make(steps: Int, shift: Double) throws -> any FlowSampler {
        switch self {
        case .unipc: return UniPCSampler(schedule: try .wan(steps: steps, shift: shift))
        case .euler: return EulerSampler(schedule: try .diffusersEuler(steps: steps, shift: shift))
        }
    }
}

/// Flow-matching Euler, as diffusers' `FlowMatchEulerDiscreteScheduler.step`:
/// `x_{i+1} = x_i + (σ_{i+1} − σ_i)·v_i` in f32.
public struct EulerSampler: FlowSampler {
    public let schedule: FlowSchedule
    public init(schedule: FlowSchedule) { self.schedule = schedule }

    public mutating func step(_ index: Int, velocity: [Float], sample: [Float]) -> [Float] {
        let dt = schedule.sigmas[index + 1] - schedule.sigmas[index]
        var out = sample
        for j in out.indices { out[j] += dt * velocity[j] }
        return out
    }
}

/// UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework"), B(h) = expm1(−h)
/// ("bh2"), order 2, x0-prediction, lower order on the last step — exactly the configuration of the
/// original Wan solver (Wan2.1 `wan/utils/fm_solvers_unipc.py`, `FlowUniPCMultistepScheduler.step`,
/// `multistep_uni_p_bh_update`, `multistep_uni_c_bh_update`). Scalars are f32 like the reference's
/// 0-d tensors; the order-2 predictor uses ρ = 0.5, the order-2 corrector solves its 2×2 system.
public struct UniPCSampler: FlowSampler {
    public let schedule: FlowSchedule
    /// The last two x0 predictions (oldest first).
    private var predictions: [[Float]] = []
    /// The sample the last predictor started from (for the next corrector).
    private var lastSample: [Float]?
    private var order = 0

    public init(schedule: FlowSchedule) { self.schedule = schedule }

    /// λ(σ) = ln α − ln σ with α = 1 − σ (f32).
    private func lambda(_ i: Int) -> Float { let s = schedule.sigmas[i]; return log(1 - s) - log(s) }

    public mutating func step(_ index: Int, velocity: [Float], sample: [Float]) -> [Float] {
        let sigmas = schedule.sigmas
        let sigma = sigmas[index]
        // x0 prediction: m = x − σ·v.
        var model = sample
        for j in model.indices { model[j] = sample[j] - sigma * velocity[j] }

        var x = sample
        if index > 0, let last = lastSample {
            x = corrector(index, model: model, last: last, current: sample)
        }
        predictions.append(model)
        if predictions.count > 2 { predictions.removeFirst() }
        let stepOrder = min(2, schedule.steps - index, predictions.count)
        lastSample = x
        order = stepOrder
        return predictor(index, sample: x)
    }

    /// UniP from σ_i to σ_{i+1}.
    private func predictor(_ i: Int, sample x: [Float]) -> [Float] {
        let sigmas = schedule.sigmas
        let m0 = predictions[predictions.count - 1]
        let (sigmaT, sigmaS0) = (sigmas[i + 1], sigmas[i])
        let alphaT = 1 - sigmaT
        // At σ = 0 the reference's λ is +∞ and expm1(−∞) = −1: the update returns m0 exactly.
        let h = (log(alphaT) - log(sigmaT)) - lambda(i)
        let hh = -h
        let phi1 = expm1(hh)
        let bh = phi1
        let ratio = sigmaT / sigmaS0
        var out = [Float](repeating: 0, count: x.count)
        if order == 2 {
            let rk = (lambda(i - 1) - lambda(i)) / h
            let m1 = predictions[0]
            let coefficient = alphaT * bh * 0.5
            for j in out.indices {
                let d1 = (m1[j] - m0[j]) / rk
                out[j] = (ratio * x[j] - alphaT * phi1 * m0[j]) - coefficient * d1
            }
        } else {
            for j in out.indices { out[j] = ratio * x[j] - alphaT * phi1 * m0[j] }
        }
        return out
    }

    /// UniC at σ_i, correcting the sample the predictor made from `last`, with the new x0 prediction.
    private func corrector(_ i: Int, model: [Float], last x: [Float], current: [Float]) -> [Float] {
        let sigmas = schedule.sigmas
        let m0 = predictions[predictions.count - 1]
        let (sigmaT, sigmaS0) = (sigmas[i], sigmas[i - 1])
        let alphaT = 1 - sigmaT
        let h = lambda(i) - lambda(i - 1)
        let hh = -h
        let phi1 = expm1(hh)
        let bh = phi1
        let ratio = sigmaT / sigmaS0
        var out = [Float](repeating: 0, count: x.count)
        if order == 1 {
            let rho: Float = 0.5
            for j in out.indices {
                let d1t = model[j] - m0[j]
                out[j] = (ratio * x[j] - alphaT * phi1 * m0[j]) - alphaT * bh * (rho * d1t)
            }
        } else {
            // b_k = h·φ_k(h)·k! / B(h) for k = 1, 2, with h·φ_1 = expm1(hh), φ_{k+1} = φ_k/hh − 1/(k+1)!.
            let rk = (lambda(i - 2) - lambda(i - 1)) / h
            var hPhiK = phi1 / hh - 1
            let b1 = hPhiK * 1 / bh
            hPhiK = hPhiK / hh - 1 / 2
            let b2 = hPhiK * 2 / bh
            // [[1, 1], [rk, 1]] · ρ = [b1, b2]
            let rho0 = (b1 - b2) / (1 - rk)
            let rho1 = b1 - rho0
            let m1 = predictions[0]
            for j in out.indices {
                let d1 = (m1[j] - m0[j]) / rk
                let d1t = model[j] - m0[j]
                out[j] = (ratio * x[j] - alphaT * phi1 * m0[j]) - alphaT * bh * (rho0 * d1 + rho1 * d1t)
            }
        }
        return out
    }
}
