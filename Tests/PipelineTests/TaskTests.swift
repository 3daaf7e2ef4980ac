import CPUBackend
import Pipeline
import Tensors
import XCTest

/// Each task's Video Condition Unit and 96-channel context, against values worked out here pixel by pixel.
final class TaskTests: XCTestCase {
    let (w, h, t) = (32, 16, 9)

    /// A clip whose every value says where it is: v(c, f, y, x) = sin(0.3c + 0.7f + 0.11y + 0.05x).
    func clip(frames: Int? = nil, width: Int? = nil, height: Int? = nil) -> PixelVideo {
        let (t, h, w) = (frames ?? t, height ?? h, width ?? w)
        var v: [Float] = []
        for c in 0 ..< 3 { for f in 0 ..< t { for y in 0 ..< h { for x in 0 ..< w { v.append(sin(0.3 * Float(c) + 0.7 * Float(f) + 0.11 * Float(y) + 0.05 * Float(x))) } } } }
        return PixelVideo(width: w, height: h, frames: t, values: v)
    }

    func value(_ v: PixelVideo, _ c: Int, _ f: Int, _ y: Int, _ x: Int) -> Float { v.values[((c * v.frames + f) * v.height + y) * v.width + x] }

    func testT2VIsZeroFramesAndAllOnesMask() throws {
        let unit = try TaskBuilder.build(.t2v, TaskInputs(width: w, height: h, frames: t))
        XCTAssertEqual(unit.frames.values.count, 3 * t * h * w)
        XCTAssertTrue(unit.frames.values.allSatisfy { $0 == 0 })
        XCTAssertTrue(unit.mask.values.allSatisfy { $0 == 1 })
        XCTAssertTrue(unit.references.isEmpty)
    }

    func testInpaintSplitsAtHalfAndKeepsTheSoftMask() throws {
        let video = clip()
        // Mask value depends on position: 0.2 / 0.6 / 1.0 bands in x.
        var m: [Float] = []
        for _ in 0 ..< t { for _ in 0 ..< h { for x in 0 ..< w { m.append(x < 8 ? 0.2 : x < 16 ? 0.6 : 1.0) } } }
        let mask = PixelMask(width: w, height: h, frames: t, values: m)
        let unit = try TaskBuilder.build(.inpaint, TaskInputs(width: w, height: h, frames: t, video: video, mask: mask))
        XCTAssertEqual(unit.frames, video)  // taken as given: the hole is not painted over
        let backend = CPUBackend(), vae = TestVAE(backend: backend)
        let context = try VACEContext.build(unit, vae: vae, on: backend)
        XCTAssertEqual(context.shape, [1, 96, 3, 2, 4])
        // Expected, by hand: inactive keeps pixels with mask ≤ 0.5 (x < 8), reactive the others.
        var inactive = video.values, reactive = video.values
        for c in 0 ..< 3 { for f in 0 ..< t { for y in 0 ..< h { for x in 0 ..< w {
            let i = ((c * t + f) * h + y) * w + x
            if x < 8 { reactive[i] = 0 } else { inactive[i] = 0 }
        } } } }
        let (lt, lh, lw) = (3, 2, 4)
        for c in 0 ..< 16 { for j in 0 ..< lt { for y in 0 ..< lh { for x in 0 ..< lw {
            let at = { (ch: Int) in context.values[((ch * lt + j) * lh + y) * lw + x] }
            XCTAssertEqual(at(c), TestVAE.latent(inactive, frames: t, height: h, width: w, channel: c, frame: j, y: y, x: x), accuracy: 1e-6)
            XCTAssertEqual(at(16 + c), TestVAE.latent(reactive, frames: t, height: h, width: w, channel: c, frame: j, y: y, x: x), accuracy: 1e-6)
        } } } }
        // Mask channel ph·8 + pw at latent x: pixel x = 8x + pw: soft values 0.2 / 0.6 / 1.0 as given.
        for pw in 0 ..< 8 { for x in 0 ..< lw {
            let expected: Float = 8 * x + pw < 8 ? 0.2 : 8 * x + pw < 16 ? 0.6 : 1.0
            XCTAssertEqual(context.values[(((32 + 3 * 8 + pw) * lt + 1) * lh + 1) * lw + x], expected)
        } }
        XCTAssertEqual(vae.encoded.count, 2)  // inactive and reactive encoded separately
    }

    func testMaskTimeResamplingIsNearestExact() {
        // T = 81 → T' = 21 reads pixel frames 1, 5, 9, 13, 17, 21, 25, 28, … (Wan VACE spec).
        var m: [Float] = []
        for f in 0 ..< 81 { m += [Float](repeating: Float(f), count: 8 * 8) }
        let folded = VACEContext.foldMask(PixelMask(width: 8, height: 8, frames: 81, values: m), latentFrames: 21, factor: 8)
        let sources = (0 ..< 21).map { Int(folded[$0]) }  // channel 0, latent pixel (0, 0)
        XCTAssertEqual(sources, [1, 5, 9, 13, 17, 21, 25, 28, 32, 36, 40, 44, 48, 52, 55, 59, 63, 67, 71, 75, 79])
    }

    func testReferencesAreLetterboxedOnWhiteAndPrependedInOrder() throws {
        // A 8×16 (h×w) red-ish reference onto 16×32: scale 2, fills the canvas; a 16×8 one: scale 1, centred with white bars.
        let wide = clip(frames: 1, width: 16, height: 8), tall = clip(frames: 1, width: 8, height: 16)
        let unit = try TaskBuilder.build(.r2v, TaskInputs(width: w, height: h, frames: 5, references: [tall, wide]))
        XCTAssertEqual(unit.references.count, 2)
        let tallFit = unit.references[0]
        // 16×8 onto 16×32: s = min(16/16, 32/8) = 1, placed at left (32 − 8)/2 = 12; white elsewhere.
        for y in 0 ..< h { for x in 0 ..< w {
            let expected: Float = (12 ..< 20).contains(x) ? value(tall, 1, 0, y, x - 12) : 1
            XCTAssertEqual(value(tallFit, 1, 0, y, x), expected)
        } }
        // 8×16 onto 16×32: scale 2, bilinear (align_corners false): output pixel 5 samples 5.5/2 − 0.5 = 2.25.
        let wideFit = unit.references[1]
        let a = value(wide, 0, 0, 2, 2), b = value(wide, 0, 0, 2, 3), c = value(wide, 0, 0, 3, 2), d = value(wide, 0, 0, 3, 3)
        let expected = 0.75 * (0.75 * a + 0.25 * b) + 0.25 * (0.75 * c + 0.25 * d)
        XCTAssertEqual(value(wideFit, 0, 0, 5, 5), expected, accuracy: 1e-6)

        let backend = CPUBackend(), vae = TestVAE(backend: backend)
        let context = try VACEContext.build(unit, vae: vae, on: backend)
        XCTAssertEqual(context.shape, [1, 96, 2 + 2, 2, 4])
        let (frames, plane) = (4, 8)
        for r in 0 ..< 2 {
            for c in 0 ..< 96 { for i in 0 ..< plane {
                let got = context.values[(c * frames + r) * plane + i]
                let expected = c < 16 ? TestVAE.latent(unit.references[r].values, frames: 1, height: h, width: w, channel: c, frame: 0, y: i / 4, x: i % 4) : 0
                XCTAssertEqual(got, expected, accuracy: 1e-6, "ref \(r) channel \(c)")
            } }
        }
        // The video part (t2v frames): zero latents, mask channels one.
        XCTAssertEqual(context.values[(40 * frames + 2) * plane], 1)
    }

    func testOutpaintExpandsTheCanvasAsTheAnnotator() throws {
        let video = clip(frames: 5)
        // 32×16 source, left 0.25 → 8 px, right 0.25 → 8 px, top 0.5 → 8, bottom 0: canvas 48×24 → rounded to 48×32.
        let unit = try TaskBuilder.build(.outpaint, TaskInputs(width: w, height: h, frames: 5, video: video,
                                                                 outpaint: OutpaintMargins(left: 0.25, right: 0.25, top: 0.5, bottom: 0)))
        XCTAssertEqual([unit.width, unit.height], [48, 32])
        // top = 8·(32 − 16)/(8 + 0) = 16 (the annotator gives the rounding to the sides that grow); left = 8·16/16 = 8.
        let grey: Float = 128 / 127.5 - 1
        for y in 0 ..< 32 { for x in 0 ..< 48 {
            let inside = (16 ..< 32).contains(y) && (8 ..< 40).contains(x)
            XCTAssertEqual(value(unit.frames, 2, 3, y, x), inside ? value(video, 2, 3, y - 16, x - 8) : grey)
            XCTAssertEqual(unit.mask.values[(3 * 32 + y) * 48 + x], inside ? 0 : 1)
        } }
    }

    func testExtendModesKeepTheGivenFrames() throws {
        let video = clip(frames: 5)
        for mode in ExtendMode.allCases {
            let unit = try TaskBuilder.build(.extend, TaskInputs(width: w, height: h, frames: 9, video: video, extend: mode))
            XCTAssertEqual(unit.frames.frames, 9)
            let kept: [Int: Int]  // output frame → source frame
            switch mode {
            case .first: kept = [0: 0]
            case .last: kept = [8: 4]
            case .both: kept = [0: 0, 8: 4]
            case .clip: kept = [0: 0, 1: 1, 2: 2, 3: 3, 4: 4]
            }
            for f in 0 ..< 9 {
                let m = unit.mask.values[f * h * w + 37]
                if let source = kept[f] {
                    XCTAssertEqual(m, 0, "\(mode) frame \(f)")
                    XCTAssertEqual(value(unit.frames, 1, f, 3, 5), value(video, 1, source, 3, 5), "\(mode) frame \(f)")
                } else {
                    XCTAssertEqual(m, 1, "\(mode) frame \(f)")
                    XCTAssertEqual(value(unit.frames, 1, f, 3, 5), 0, "\(mode) frame \(f)")  // 127.5 → 0
                }
            }
        }
    }

    func testV2VTakesTheControlVideoWithAnAllOnesMaskOrTheGivenMask() throws {
        let video = clip()
        let unit = try TaskBuilder.build(.v2v, TaskInputs(width: w, height: h, frames: t, video: video))
        XCTAssertEqual(unit.frames, video)
        XCTAssertTrue(unit.mask.values.allSatisfy { $0 == 1 })
        let image = PixelMask(width: w, height: h, frames: 1, values: (0 ..< h * w).map { Float($0 % 2) })
        let masked = try TaskBuilder.build(.v2v, TaskInputs(width: w, height: h, frames: t, video: video, mask: image))
        XCTAssertEqual(masked.mask.frames, t)  // one mask image applies to every frame
        XCTAssertEqual(Array(masked.mask.values[(t - 1) * h * w ..< t * h * w]), image.values)
    }

    func testReferenceFramesAreTrimmedBeforeDecoding() throws {
        let backend = CPUBackend(), vae = TestVAE(backend: backend)
        let generator = WanVACEGenerator(backend: backend, vae: vae) { fatalError("not used") }
        // Latents with 2 reference frames + 3 video frames; frame index written into every value.
        var z: [Float] = []
        for _ in 0 ..< 16 { for f in 0 ..< 5 { z += [Float](repeating: Float(f) / 10, count: 8) } }
        let video = try generator.decode(HostTensor(z, [1, 16, 5, 2, 4]), references: 2)
        XCTAssertEqual(vae.decoded, [Shape([1, 16, 3, 2, 4])])
        XCTAssertEqual(video.frames, 9)
        XCTAssertEqual(value(video, 0, 0, 0, 0), 0.2)  // latent frame 2 = the first video frame
        XCTAssertEqual(value(video, 0, 8, 0, 0), 0.4)
    }

    func testBadTaskInputsAreNamed() {
        let video = clip()
        func message(_ task: VACETask, _ inputs: TaskInputs) -> String {
            do { _ = try TaskBuilder.build(task, inputs); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(.inpaint, TaskInputs(width: w, height: h, frames: t, video: video)).contains("--mask"))
        XCTAssertTrue(message(.r2v, TaskInputs(width: w, height: h, frames: t)).contains("--ref"))
        let ref = clip(frames: 1)
        XCTAssertTrue(message(.t2v, TaskInputs(width: w, height: h, frames: t, references: [ref, ref, ref, ref])).contains("at most 3"))
        XCTAssertTrue(message(.v2v, TaskInputs(width: w, height: h, frames: t, video: video,
                                               mask: PixelMask(width: 16, height: 16, frames: t, constant: 1))).contains("--mask-resize"))
        XCTAssertTrue(message(.v2v, TaskInputs(width: w, height: h, frames: t, video: video,
                                               mask: PixelMask(width: w, height: h, frames: 5, constant: 1))).contains("5 frames"))
        XCTAssertTrue(message(.t2v, TaskInputs(width: w, height: h, frames: t, mask: PixelMask(width: w, height: h, frames: t, constant: 1))).contains("without a video"))
        XCTAssertTrue(message(.t2v, TaskInputs(width: 40, height: h, frames: t)).contains("--size"))
        XCTAssertTrue(message(.t2v, TaskInputs(width: w, height: h, frames: 8)).contains("--frames"))
    }
}
