import Foundation
import Testing
@testable import Checkpoints

/// Every fixture file loads through the readers and holds exactly what the manifest says.
@Suite struct FixtureManifestTests {
    struct Manifest: Decodable {
        struct File: Decodable {
            struct Tensor: Decodable { var name: String; var dtype: String; var shape: [Int] }
            var path: String
            var format: String
            var role: String?
            var tensors: [Tensor]?
            var metadata: [String: String]?
        }
        var version: Int
        var files: [File]
    }

    static let manifest: Manifest? = try? JSONDecoder().decode(Manifest.self, from: Data(contentsOf: Fixtures.url("manifest.json")))

    @Test func manifestListsTheFixtures() throws {
        let manifest = try #require(Self.manifest, "Tests/Fixtures/manifest.json is missing or malformed")
        #expect(manifest.version == 1)
        let formats = Set(manifest.files.map(\.format))
        #expect(formats.isSuperset(of: ["safetensors", "json", "pth"]))
        // Every model family the runtime targets has weights and references.
        for model in ["wan_vace/official", "wan_vace/diffusers", "wan_vae/official", "ltx/official", "ltx/diffusers", "reference/"] {
            #expect(manifest.files.contains { $0.path.hasPrefix(model) }, "no fixture under \(model)")
        }
    }

    @Test func everySafetensorsFixtureMatchesTheManifest() throws {
        let manifest = try #require(Self.manifest)
        let files = manifest.files.filter { $0.format == "safetensors" }
        #expect(files.count >= 10)
        for entry in files {
            let file = try SafetensorsFile(url: Fixtures.url(entry.path))
            let expected = try #require(entry.tensors, "\(entry.path) has no tensor list")
            #expect(file.names.sorted() == expected.map(\.name).sorted(), "\(entry.path): tensor names")
            for tensor in expected {
                let actual = try #require(file.entry(tensor.name))
                #expect(actual.dtype.rawValue == tensor.dtype, "\(entry.path): \(tensor.name) dtype")
                #expect(actual.shape == tensor.shape, "\(entry.path): \(tensor.name) shape")
            }
            if let metadata = entry.metadata { #expect(file.metadata == metadata, "\(entry.path): metadata") }
            // Reading values touches every byte range: a bad offset would trap or throw here.
            for tensor in expected where tensor.dtype == "F32" {
                let values = try file.floats(tensor.name)
                #expect(values.count == tensor.shape.reduce(1, *))
                #expect(values.allSatisfy { $0.isFinite }, "\(entry.path): \(tensor.name) has non-finite values")
            }
        }
    }

    @Test func jsonFixturesParse() throws {
        let manifest = try #require(Self.manifest)
        for entry in manifest.files where entry.format == "json" {
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url(entry.path)))
            #expect(object is [String: Any], "\(entry.path)")
        }
    }
}
