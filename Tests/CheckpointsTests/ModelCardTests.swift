import Foundation
import Testing
import VKQ
@testable import Checkpoints

/// The model cards of models/ against the converter's schemas: a checkpoint with the released shapes
/// has the released tensor and parameter counts, and (with no config.json) resolves to the card's config.
@Suite struct ModelCardTests {
    static let models = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appending(path: "models")

    static func card(_ name: String) throws -> JSONValue { try JSONValue.parse(Data(contentsOf: models.appending(path: "\(name).json"))) }

    @Test(arguments: ["wan2.1-t2v-1.3b", "wan2.1-t2v-14b", "wan2.1-vace-1.3b", "wan2.1-vace-14b"])
    func wanTransformerCards(name: String) throws {
        let card = try Self.card(name)
        let config = try #require(card["config"])
        let spec = WanTransformerSpec()
        let expected = try spec.expectedTensors(config: config, keyMap: KeyMap.named(spec.keyMapName), names: [])
        #expect(expected.count == card["tensors"]?.intValue)
        #expect(expected.reduce(0) { $0 + $1.shape.reduce(1, *) } == card["parameters"]?.intValue)
        let shapes = Dictionary(uniqueKeysWithValues: expected.map { ($0.name, $0.shape) })
        let resolved = try spec.resolveConfig(configs: [], metadata: [:], shapeOf: { shapes[$0] }, names: Set(shapes.keys))
        for (key, value) in config.objectValue! {
            #expect(resolved[key] == value, "\(name): \(key) resolved to \(String(describing: resolved[key])), the card says \(value)")
        }
        #expect(spec.family(config: resolved) == card["family"]?.stringValue)
    }

    @Test func wanVAECard() throws {
        let card = try Self.card("wan2.1-vae")
        let spec = WanVAESpec()
        let expected = try spec.expectedTensors(config: card["config"]!, keyMap: KeyMap.named(spec.keyMapName), names: [])
        #expect(expected.count == card["tensors"]?.intValue)
        #expect(expected.reduce(0) { $0 + $1.shape.reduce(1, *) } == card["parameters"]?.intValue)
    }

    @Test func ltxCards() throws {
        let transformer = try Self.card("ltx-video-2b-0.9")
        let spec = LTXTransformerSpec()
        let expected = try spec.expectedTensors(config: transformer["config"]!, keyMap: KeyMap.named(spec.keyMapName), names: [])
        #expect(expected.reduce(0) { $0 + $1.shape.reduce(1, *) } == transformer["parameters"]?.intValue)
        #expect(expected.count == transformer["tensors"]?.intValue)
        // Encoder 180,404,353 + decoder 238,789,296 + the two latent statistics (ltx-vace.md §1.6).
        let vae = try Self.card("ltx-video-vae-0.9")
        let vaeSpec = LTXVAESpec()
        let vaeTensors = try vaeSpec.expectedTensors(config: vae["config"]!, keyMap: KeyMap.named(vaeSpec.keyMapName), names: [])
        #expect(vaeTensors.reduce(0) { $0 + $1.shape.reduce(1, *) } == vae["parameters"]?.intValue)
    }

    /// The 0.9.1 / 0.9.5 VAE cards: the tensor list generated from the released block lists has diffusers'
    /// parameter and tensor counts for the released configs, and the header lists resolve to the card's config.
    @Test(arguments: [("ltx-video-vae-0.9.1", LTXVAESpec.Version.v091), ("ltx-video-vae-0.9.5", .v095)])
    func ltxTimestepConditionedVAECards(name: String, version: LTXVAESpec.Version) throws {
        let card = try Self.card(name)
        let config = try #require(card["config"])
        let spec = LTXVAESpec(version: version)
        let expected = try spec.expectedTensors(config: config, keyMap: KeyMap.named(spec.keyMapName), names: [])
        #expect(expected.count == card["tensors"]?.intValue)
        #expect(expected.reduce(0) { $0 + $1.shape.reduce(1, *) } == card["parameters"]?.intValue)
        let shapes = Dictionary(uniqueKeysWithValues: expected.map { ($0.name, $0.shape) })
        var header = config.objectValue!
        for key in ["version", "encoder_base_channels", "decoder_base_channels"] { header[key] = nil }   // not in the real header
        let text = String(decoding: try JSONEncoder().encode(JSONValue.object(["vae": .object(header)])), as: UTF8.self)
        let resolved = try spec.resolveConfig(configs: [], metadata: ["config": text], shapeOf: { shapes[$0] }, names: Set(shapes.keys))
        #expect(resolved == config, "\(name): resolved \(resolved)")
        #expect(spec.family(config: resolved) == card["family"]?.stringValue)
    }
}
