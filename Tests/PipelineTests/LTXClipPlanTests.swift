import Pipeline
import XCTest

/// VACE-LTX's clip and reference sizing against values computed with ali-vilab/VACE's
/// `VaceVideoProcessor._get_frameid_bbox_adjust_last` / `VaceImageProcessor.load_image_batch` formulas
/// (numpy, decord-style frame timestamps [i/fps, (i+1)/fps]).
final class LTXClipPlanTests: XCTestCase {
    func testClipPlansMatchVACEsProcessor() {
        // (w, h, n, fps) → (W, H, RoPE rate, frame count, sum of frame ids)
        let cases: [((Int, Int, Int, Double), (Int, Int, Double, Int, Int))] = [
            ((1920, 1080, 300, 30), (800, 480, 9.716193656093488, 97, 14478)),  // capped at the 512×768 area and 4992 tokens
            ((64, 32, 9, 25), (64, 32, 26.47058823529412, 9, 36)),              // smaller clips are not upscaled
            ((64, 32, 17, 25), (64, 32, 25.757575757575758, 17, 136)),
            ((160, 96, 20, 24), (160, 96, 20.923076923076923, 17, 158)),        // 20 frames resampled to 17 over the clip
        ]
        for ((w, h, n, fps), (ew, eh, rate, count, idSum)) in cases {
            let plan = LTXClipPlan(width: w, height: h, frames: n, fps: fps)
            XCTAssertEqual([plan.width, plan.height], [ew, eh], "\(w)x\(h)")
            XCTAssertEqual(plan.ropeRate, rate, accuracy: 1e-12, "\(w)x\(h)")
            XCTAssertEqual(plan.frameIDs.count, count, "\(w)x\(h)")
            XCTAssertEqual(plan.frameIDs.reduce(0, +), idSum, "\(w)x\(h)")
            XCTAssertEqual(plan.frameIDs.last, n - 1, "the last frame is kept")
        }
    }

    func testReferenceSizes() {
        XCTAssertEqual(LTXClipPlan.referenceSize(width: 1000, height: 500).map { [$0.width, $0.height] }, [864, 416])  // ≤ 384 tokens
        XCTAssertEqual(LTXClipPlan.referenceSize(width: 160, height: 96).map { [$0.width, $0.height] }, [160, 96])   // not upscaled
        XCTAssertNil(LTXClipPlan.referenceSize(width: 40, height: 24))
    }
}
