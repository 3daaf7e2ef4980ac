import Foundation
import Tensors
import Testing
@testable import Validation

/// `vacekit validate` layer by layer for the VAEs (each stage's output, encode and decode) and the text
/// encoders (`blocks.{i}`): dumps made by dump_reference.py (converters/reference/make_validate_fixtures.py)
/// from the tiny fixtures — diffusers' AutoencoderKLWan and AutoencoderKLLTXVideo (0.9, 0.9.5), LTX-Video's own
/// CausalVideoAutoencoder on the official layouts (0.9 decode, 0.9.1 encode), transformers'
/// T5EncoderModel and UMT5EncoderModel (two prompts, the second padded). Each family: f32 within a bound near
/// the measured figure with no jump, and one changed weight named as the first jump and failing the bound.
@Suite struct FamilyValidationTests {
    static let floor = LayerReport.noiseFloor(weights: "f32")
    /// VAE output bound: measured Wan 2.9e-7 (encode) / 8.1e-7 (decode), LTX 0.9 1.1e-6 / 2.0e-6 (official layout
    /// decode 1.7e-6), LTX 0.9.1 encode 7.9e-7 / decode (noise replayed) 8.1e-7 (diffusers layout 7.6e-7), LTX 0.9.5 1.3e-6 / 1.3e-6.
    static let vaeBound = 3e-6
    /// Text encoder output bound: measured T5 1.0e-6, umT5 8.1e-7 (Wan layout 7.4e-7).
    static let textBound = 2e-6

    struct Case: CustomTestStringConvertible, Sendable {
        let fixture: String, model: String, dump: String, points: Int, bound: Double
        var component: String? = nil
        var also: [String] = []
        /// The folder of the dump under Tests/Fixtures.
        var directory = "validate"
        /// The weight changed (one value +0.5) and the point where the error must first jump.
        let weight: String, jump: String
        var testDescription: String { dump }
    }

    static let cases: [Case] = [
        .init(fixture: "wan_vae/official/Wan2.1_VAE.pth", model: "wan-vae", dump: "wan_vae_encode", points: 14, bound: vaeBound,
              weight: "encoder.downsamples.3.residual.2.weight", jump: "encoder.downsamples.3"),
        .init(fixture: "wan_vae/official/Wan2.1_VAE.pth", model: "wan-vae", dump: "wan_vae_decode", points: 18, bound: vaeBound,
              weight: "decoder.upsamples.5.residual.2.weight", jump: "decoder.upsamples.5"),
        .init(fixture: "ltx/diffusers/vae", model: "ltx-vae-0.9", dump: "ltx_vae_encode", points: 12, bound: vaeBound,
              weight: "encoder.down_blocks.3.res_blocks.0.conv1.conv.weight", jump: "encoder.down_blocks.3"),
        .init(fixture: "ltx/diffusers/vae", model: "ltx-vae-0.9", dump: "ltx_vae_decode", points: 12, bound: vaeBound,
              weight: "decoder.up_blocks.6.res_blocks.0.conv1.conv.weight", jump: "decoder.up_blocks.6"),
        .init(fixture: "ltx_vae/0.9.5/diffusers/vae", model: "ltx-vae-0.9.5", dump: "ltx_vae_095_encode", points: 11, bound: vaeBound,
              weight: "encoder.down_blocks.2.res_blocks.0.conv1.conv.weight", jump: "encoder.down_blocks.2"),
        .init(fixture: "ltx_vae/0.9.5/diffusers/vae", model: "ltx-vae-0.9.5", dump: "ltx_vae_095_decode", points: 9, bound: vaeBound,
              weight: "decoder.up_blocks.4.res_blocks.0.conv1.conv.weight", jump: "decoder.up_blocks.4"),
        // The official layouts, dumped through LTX-Video's own CausalVideoAutoencoder (tag ltx-video-0.9.1).
        .init(fixture: "ltx/official/ltx-video-2b-v0.9-tiny.safetensors", model: "ltx-vae-0.9-official", dump: "ltx_vae_official_decode",
              points: 12, bound: vaeBound, component: "vae", weight: "decoder.up_blocks.3.res_blocks.0.conv2.conv.weight", jump: "decoder.up_blocks.3"),
        .init(fixture: "ltx_vae/0.9.1/official/ltx-video-vae-0.9.1-tiny.safetensors", model: "ltx-vae-0.9.1", dump: "ltx_vae_091_encode",
              points: 12, bound: vaeBound, weight: "encoder.down_blocks.6.res_blocks.0.conv1.conv.weight", jump: "encoder.down_blocks.6"),
        // 0.9.1 decode: the resnets' injected noise fixed by dump_reference.py and carried as decoder_noise.<path>
        // (converters/reference/make_ltx091_decoder_dump.py); the changed value is a noise scale, so the replayed noise is checked too.
        .init(fixture: "ltx_vae/0.9.1/official/ltx-video-vae-0.9.1-tiny.safetensors", model: "ltx-vae-0.9.1", dump: "ltx_vae_091_decode",
              points: 9, bound: vaeBound, directory: "ltx_vae_noise", weight: "decoder.up_blocks.4.res_blocks.0.per_channel_scale1", jump: "decoder.up_blocks.4"),
        // The same decode from the diffusers layout of that checkpoint: diffusers' resnets draw the noise with torch.randn,
        // fixed by dump_reference.py under the same official names (the script checks both dumps agree, 4.5e-7).
        .init(fixture: "ltx_vae/0.9.1/diffusers/vae", model: "ltx-vae-0.9.1-diffusers", dump: "ltx_vae_091_diffusers_decode",
              points: 9, bound: vaeBound, directory: "ltx_vae_noise", weight: "decoder.up_blocks.6.res_blocks.0.per_channel_scale2", jump: "decoder.up_blocks.6"),
        .init(fixture: "text/t5_hf", model: "t5", dump: "t5", points: 3, bound: textBound, weight: "blocks.1.attn.v.weight", jump: "blocks.1"),
        .init(fixture: "text/umt5_hf", model: "umt5", dump: "umt5", points: 3, bound: textBound, weight: "blocks.2.ffn.fc2.weight", jump: "blocks.2"),
        // Wan2.1's own umT5 layout (.pth + the tokenizer), dumped after mapping it to transformers' names.
        .init(fixture: "text/umt5_wan.pth", model: "umt5-wan", dump: "umt5_wan", points: 3, bound: textBound, also: ["text/umt5_hf/spiece.model"],
              weight: "blocks.0.attn.o.weight", jump: "blocks.0"),
    ]

    static func dump(_ c: Case) -> URL { ValidationFixtures.root.appending(path: "\(c.directory)/\(c.dump)_dump.safetensors") }

    @Test(arguments: cases) func f32MatchesAtEveryStageWithNoJump(_ c: Case) throws {
        let report = try ValidationFixtures.report(try ValidationFixtures.converted(c.fixture, also: c.also, name: c.model, component: c.component), dump: Self.dump(c),
                                                   noiseFloor: Self.floor, bound: c.bound)
        LayerValidationTests.show(c.dump, report)
        #expect(report.points.count == c.points)
        #expect(report.firstJump == nil)
        #expect(report.pass, "\(report.final)")
        for point in report.points { #expect(point.error.relativeL2 <= 1e-5, "\(point.name): \(point.error)") }
    }

    @Test(arguments: cases) func oneChangedWeightIsTheFirstJump(_ c: Case) throws {
        let report = try ValidationFixtures.report(try ValidationFixtures.converted(c.fixture, also: c.also, name: c.model, component: c.component), changing: c.weight,
                                                   by: { var v = $0; v[v.count / 2] += 0.5; return v }, dump: Self.dump(c),
                                                   noiseFloor: Self.floor, bound: c.bound)
        LayerValidationTests.show("\(c.dump), one value of \(c.weight) + 0.5", report)
        #expect(report.firstJump == c.jump)
        #expect(!report.pass && report.final.relativeL2 > 10 * c.bound)
    }

    @Test func aVAEDumpOfNeitherDirectionIsAnError() throws {
        // The Wan transformer's dump given to the VAE: no latent/video output, no encoder/decoder points.
        let error = #expect(throws: ValidateError.self) {
            _ = try ValidationFixtures.report(try ValidationFixtures.converted("wan_vae/official/Wan2.1_VAE.pth", name: "wan-vae"),
                                              dump: ValidationFixtures.dumpURL, noiseFloor: Self.floor)
        }
        #expect(error?.description.contains("direction") == true)
    }
}
