import Foundation
import Tensors
import Testing
@testable import Validation

/// `vacekit validate` layer by layer for LTX-Video and VACE-LTX: dumps made by dump_reference.py
/// (converters/reference/make_validate_fixtures.py) from the tiny fixtures — diffusers'
/// LTXVideoTransformer3DModel, and the original VACE code's VaceTransformer3DModel (batch 2, vace_scale 0.5,
/// STG at context layer 2 for the last row, a padded caption, frame rate 26.47).
@Suite struct LTXLayerValidationTests {
    static let ltxDump = ValidationFixtures.root.appending(path: "validate/ltx_dump.safetensors")
    static let vaceDump = ValidationFixtures.root.appending(path: "validate/vace_ltx_dump.safetensors")
    static let f32Floor = LayerReport.noiseFloor(weights: "f32")
    static let q8Floor = LayerReport.noiseFloor(weights: "q8", int8Activations: ValidationFixtures.int8Activations)
    /// f32 output bound: measured LTX 6.9e-6, VACE-LTX 7.5e-6 (every point ≤ 8.2e-6).
    static let f32Bound = 1e-5
    /// q8 (per-row scales) output bound: measured VACE-LTX 7.9e-3 with 16-bit activations (W8A16), 1.18e-2
    /// with int8 ones (W8A8, the automatic mode on AVX-512 VNNI).
    static let q8Bound = ValidationFixtures.int8Activations ? 1.4e-2 : 1e-2

    @Test func ltxF32MatchesAtEveryPointWithNoJump() throws {
        let report = try ValidationFixtures.report(try ValidationFixtures.ltx(vace: false), dump: Self.ltxDump, noiseFloor: Self.f32Floor, bound: Self.f32Bound)
        LayerValidationTests.show("LTX f32", report)
        #expect(report.points.map(\.name) == ["text_embedding", "time_embedding", "patch_embedding", "blocks.0", "blocks.1", "head"])
        #expect(report.firstJump == nil)
        #expect(report.pass, "\(report.final)")
        for point in report.points { #expect(point.error.relativeL2 <= 1e-5 && point.error.cosine > 0.999_999, "\(point.name): \(point.error)") }
    }

    @Test func vaceLTXF32MatchesAtEveryPointWithNoJump() throws {
        let report = try ValidationFixtures.report(try ValidationFixtures.ltx(vace: true), dump: Self.vaceDump, noiseFloor: Self.f32Floor, bound: Self.f32Bound)
        LayerValidationTests.show("VACE-LTX f32", report)
        #expect(report.points.map(\.name) == ["text_embedding", "time_embedding", "patch_embedding", "vace_blocks.0", "blocks.0", "blocks.1",
                                              "vace_blocks.1", "blocks.2", "head"])
        #expect(report.firstJump == nil)
        #expect(report.pass, "\(report.final)")
        for point in report.points { #expect(point.error.relativeL2 <= 1e-5 && point.error.cosine > 0.999_999, "\(point.name): \(point.error)") }
    }

    @Test func aPerturbedMainBlockIsTheFirstJump() throws {
        // One weight of main block 1's feed-forward output changed by +0.5: blocks.0 and vace_blocks.0 stay exact.
        let report = try ValidationFixtures.report(try ValidationFixtures.ltx(vace: true), changing: "transformer_blocks.1.ff.net.2.weight",
                                                   by: { var v = $0; v[5] += 0.5; return v }, dump: Self.vaceDump,
                                                   noiseFloor: Self.f32Floor, bound: Self.f32Bound)
        LayerValidationTests.show("VACE-LTX f32, one weight of transformer_blocks.1 changed", report)
        #expect(report.firstJump == "blocks.1")
        #expect(!report.pass && report.final.relativeL2 > 10 * Self.f32Bound)
        let plain = try ValidationFixtures.report(try ValidationFixtures.ltx(vace: false), changing: "transformer_blocks.1.attn1.to_v.weight",
                                                  by: { var v = $0; v[7] += 0.5; return v }, dump: Self.ltxDump,
                                                  noiseFloor: Self.f32Floor, bound: Self.f32Bound)
        LayerValidationTests.show("LTX f32, one weight of transformer_blocks.1.attn1 changed", plain)
        #expect(plain.firstJump == "blocks.1")
        #expect(!plain.pass)
    }

    @Test func aPerturbedContextBlockIsTheFirstJump() throws {
        // One weight of the context block at layer 2 (hint 1): everything before vace_blocks.1 stays exact.
        let report = try ValidationFixtures.report(try ValidationFixtures.ltx(vace: true), changing: "transformer_context_blocks.2.ff.net.2.weight",
                                                   by: { var v = $0; v[3] += 0.5; return v }, dump: Self.vaceDump,
                                                   noiseFloor: Self.f32Floor, bound: Self.f32Bound)
        LayerValidationTests.show("VACE-LTX f32, one weight of transformer_context_blocks.2 changed", report)
        #expect(report.firstJump == "vace_blocks.1")
        #expect(!report.pass)
    }

    @Test func vaceLTXQ8PassesAndAPerturbedQ8ModelFails() throws {
        let weights = try ValidationFixtures.ltx(vace: true, .q8)
        let report = try ValidationFixtures.report(weights, dump: Self.vaceDump, noiseFloor: Self.q8Floor, bound: Self.q8Bound)
        LayerValidationTests.show("VACE-LTX q8", report)
        #expect(report.pass, "\(report.final)")
        #expect(report.firstJump == nil)
        #expect(report.final.relativeL2 > 1e-3, "q8 must differ from f32")
        let perturbed = try ValidationFixtures.report(weights, changing: "transformer_blocks.1.ff.net.2.weight", by: { $0.map { $0 * 1.5 } },
                                                      dump: Self.vaceDump, noiseFloor: Self.q8Floor, bound: Self.q8Bound)
        LayerValidationTests.show("VACE-LTX q8, transformer_blocks.1.ff.net.2.weight × 1.5", perturbed)
        #expect(!perturbed.pass && perturbed.final.relativeL2 > 2 * Self.q8Bound)
        #expect(perturbed.firstJump == "blocks.1")
    }

    @Test func anLTXDumpWithAnUnknownInputIsAnError() throws {
        let url = try ValidationFixtures.editedDump(from: Self.ltxDump) { name, values, shape in
            name == "frame_rate" ? nil : (values, shape)
        }
        // frame_rate dropped: the default 25 changes RoPE time, so the points from blocks.0 on differ.
        let report = try ValidationFixtures.report(try ValidationFixtures.ltx(vace: false), dump: url, noiseFloor: Self.f32Floor, bound: Self.f32Bound)
        #expect(report.firstJump == "blocks.0" && !report.pass)
        let renamed = try ValidationFixtures.editedDump(from: Self.ltxDump, renaming: ["frame_rate": "fps"])
        let error = #expect(throws: ValidateError.self) {
            _ = try ValidationFixtures.report(try ValidationFixtures.ltx(vace: false), dump: renamed, noiseFloor: Self.f32Floor)
        }
        #expect(error?.description.contains("fps") == true)
    }
}
