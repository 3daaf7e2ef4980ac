import Foundation
import Pipeline
import Tensors
import XCTest

/// LTX-Video's rectified-flow schedule against the original scheduler (LTX-Video 0.9.1
/// `RectifiedFlowScheduler.set_timesteps`, fixture from converters/reference/make_ltx_generate_fixtures.py)
/// and against reference values computed from the formula in f64 (m = 4992 tokens = 97×512×768).
final class LTXScheduleTests: XCTestCase {
    static let fixture = try! PipelineFixtures.tensors("ltx_generate/schedule.safetensors")

    func testScheduleMatchesTheOriginalScheduler() throws {
        for (tokens, steps) in [(4992, 40), (4992, 50), (4, 3), (24, 3), (1024, 8)] {
            let schedule = try FlowSchedule.ltx(steps: steps, tokens: tokens)
            let expected = Self.fixture["sigmas_m\(tokens)_s\(steps)"]!.values
            XCTAssertEqual(schedule.sigmas.count, steps + 1)
            XCTAssertEqual(schedule.sigmas.last, 0)
            let error = try ErrorMetric.compare(Array(schedule.sigmas.dropLast()), expected, what: "m \(tokens) S \(steps)")
            print("LTX schedule m=\(tokens) S=\(steps): relative L2 \(error.relativeL2), max |Δ| \(error.maxAbs)")
            XCTAssertLessThanOrEqual(error.maxAbs, 1e-7, "m \(tokens) S \(steps)")  // measured 0 (the same f32 operations)
            XCTAssertEqual(schedule.timesteps.map(Float.init), schedule.sigmas.dropLast().map { $0 * 1000 })
        }
    }

    func testScheduleMatchesThePublishedValues() throws {
        // f64 values of the formula for 97×512×768, 6 decimals (μ = 2.370833 for m = 4992).
        let s40 = try FlowSchedule.ltx(steps: 40, tokens: 4992).sigmas
        for (i, v) in [(0, 1.0), (1, 0.997259), (2, 0.994389), (3, 0.991378), (37, 0.385964), (38, 0.266341), (39, 0.1)] {
            XCTAssertEqual(Double(s40[i]), v, accuracy: 1.5e-6, "S 40 σ_\(i)")
        }
        let s50 = try FlowSchedule.ltx(steps: 50, tokens: 4992).sigmas
        for (i, v) in [(0, 1.0), (1, 0.997914), (2, 0.995749), (48, 0.241650), (49, 0.1)] {
            XCTAssertEqual(Double(s50[i]), v, accuracy: 1.5e-6, "S 50 σ_\(i)")
        }
    }

    func testBoundFailsForAWrongTokenCount() throws {
        // One token more (e.g. forgetting or double-counting a frame boundary) must fail the bound.
        let expected = Self.fixture["sigmas_m4992_s40"]!.values
        let wrong = try FlowSchedule.ltx(steps: 40, tokens: 4993).sigmas.dropLast()
        XCTAssertGreaterThan(try ErrorMetric.compare(Array(wrong), expected, what: "m 4993").maxAbs, 1e-7)
    }

    func testOneStepIsRefused() {
        XCTAssertThrowsError(try FlowSchedule.ltx(steps: 1, tokens: 24)) { error in
            XCTAssertTrue("\(error)".contains("--steps"), "\(error)")
        }
    }
}
