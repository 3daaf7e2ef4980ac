import Foundation
import Pipeline
import Tensors
import XCTest

/// The samplers against their references: UniPC against the original Wan solver (fixture from
/// converters/reference/make_sampler_fixtures.py), the Euler grid against diffusers' scheduler.
final class SamplerTests: XCTestCase {
    static let fixture = try! PipelineFixtures.tensors("samplers/wan_unipc.safetensors")
    let cases: [(shift: Double, steps: Int)] = [(16, 12), (5, 4), (3, 1), (16, 50)]

    func testWanGridMatchesTheOriginalSolver() throws {
        for (shift, steps) in cases {
            let name = "shift\(Int(shift))_steps\(steps)"
            let schedule = try FlowSchedule.wan(steps: steps, shift: shift)
            XCTAssertEqual(schedule.sigmas, Self.fixture["\(name).sigmas"]!.values, name)  // bit-exact f32
            XCTAssertEqual(schedule.timesteps.map(Float.init), Self.fixture["\(name).timesteps"]!.values, name)
        }
    }

    /// Runs the solver on the recorded velocities from the recorded initial sample; returns the worst
    /// relative L2 over the steps.
    func worstUniPC(_ name: String, shift: Double, steps: Int, velocityChange: (Int, inout [Float]) -> Void = { _, _ in }) throws -> Double {
        var sampler = UniPCSampler(schedule: try .wan(steps: steps, shift: shift))
        var x = Self.fixture["\(name).initial"]!.values
        var worst = 0.0
        for i in 0 ..< steps {
            var v = Self.fixture["\(name).step\(i).velocity"]!.values
            velocityChange(i, &v)
            x = sampler.step(i, velocity: v, sample: x)
            worst = max(worst, try ErrorMetric.compare(x, Self.fixture["\(name).step\(i).next"]!.values, what: "\(name) step \(i)").relativeL2)
        }
        return worst
    }

    func testUniPCMatchesTheOriginalSolverStepByStep() throws {
        for (shift, steps) in cases {
            let name = "shift\(Int(shift))_steps\(steps)"
            let worst = try worstUniPC(name, shift: shift, steps: steps)
            print("UniPC \(name): worst relative L2 over the steps \(worst)")
            XCTAssertLessThanOrEqual(worst, 3e-7, name)  // measured ≤ 1.7e-7 (50 steps)
        }
    }

    func testUniPCBoundFailsForAPerturbedVelocity() throws {
        // One value of one step's velocity changed by 1% of its size: the bound must catch it.
        let worst = try worstUniPC("shift16_steps12", shift: 16, steps: 12) { i, v in if i == 5 { v[7] *= 1.01 } }
        XCTAssertGreaterThan(worst, 3e-7)
    }

    func testEulerGridMatchesDiffusers() throws {
        for (shift, steps) in [(3.0, 4), (16.0, 50), (5.0, 1), (1.0, 7)] {
            let name = "euler_shift\(Int(shift))_steps\(steps)"
            let schedule = try FlowSchedule.diffusersEuler(steps: steps, shift: shift)
            XCTAssertEqual(schedule.sigmas, Self.fixture["\(name).sigmas"]!.values, name)  // bit-exact f32
            XCTAssertEqual(schedule.timesteps.map(Float.init), Self.fixture["\(name).timesteps"]!.values, name)
        }
    }

    func testEulerStepIsTheFlowUpdate() throws {
        var sampler = EulerSampler(schedule: try .diffusersEuler(steps: 4, shift: 3))
        let s = sampler.schedule.sigmas
        let next = sampler.step(1, velocity: [2, -1], sample: [0.5, 0.25])
        XCTAssertEqual(next, [0.5 + (s[2] - s[1]) * 2, 0.25 - (s[2] - s[1])])
    }

    func testBadScheduleOptionsAreNamed() {
        XCTAssertThrowsError(try FlowSchedule.wan(steps: 0, shift: 16)) { XCTAssertTrue("\($0)".contains("--steps")) }
        XCTAssertThrowsError(try FlowSchedule.diffusersEuler(steps: 4, shift: -1)) { XCTAssertTrue("\($0)".contains("--shift")) }
    }
}
