import Foundation
import Tensors
import Testing
import TestSupport
import VKQ
@testable import Checkpoints

/// Bounded mutation fuzzing of every checkpoint reader: each mutated input either loads (and every tensor
/// reads) or throws an error of the reader's own type — no crash, no hang, no huge allocation. A seeded run of
/// `VACEKIT_FUZZ_ITERATIONS` inputs per reader (default 1000; `make fuzz` runs 1 000 000).
@Suite struct ReaderFuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["VACEKIT_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1000

    typealias Mutator = ByteMutator

    let directory: URL
    init() throws { directory = try Fixtures.temporaryDirectory() }

    /// Runs `iterations` mutations of `seed` through `open`; an error is accepted when `named` says it is the
    /// reader's own (a type of VaceKit's modules, as `vacekit` prints them); anything else fails the test.
    func fuzz(_ name: String, seed: [UInt8], region: Range<Int>? = nil, fileName: String, seedValue: UInt64,
              fix: ([UInt8]) -> [UInt8] = { $0 }, iterations: Int = Self.iterations, mustRefuseChanges: Bool = false,
              named: (any Error) -> Bool, open: (URL) throws -> Void) throws {
        var mutator = Mutator(seed: seedValue)
        let url = directory.appending(path: fileName)
        try Data(seed).write(to: url)
        try open(url)  // the seed itself loads
        var loaded = 0, refused = 0, unchanged = 0
        for i in 0 ..< iterations {
            let input = fix(mutator.mutate(seed, within: region))
            if input == seed { unchanged += 1; continue }
            try Data(input).write(to: url)
            do {
                try open(url)
                loaded += 1
                if mustRefuseChanges { Issue.record("\(name) input \(i): a changed file passed"); return }
            } catch {
                refused += 1
                if !named(error) { Issue.record("\(name) input \(i): unexpected error \(type(of: error)): \(error)"); return }
            }
        }
        print("fuzz \(name): \(iterations) inputs, \(loaded) loaded, \(refused) refused with a named error, \(unchanged) unchanged")
    }

    /// An error of the readers' own modules (typed, naming the file), not a Foundation or runtime error.
    static func ownError(_ error: any Error) -> Bool {
        let type = String(reflecting: Swift.type(of: error))
        return (type.hasPrefix("Checkpoints.") || type.hasPrefix("VKQ.")) && !"\(error)".isEmpty
    }

    static func readAll(_ reader: any CheckpointReader) throws {
        for info in reader.tensorInfos { _ = try reader.floats(info.name) }
    }

    @Test func safetensors() throws {
        var writer = SafetensorsWriter()
        writer.tensors = [.init(name: "a", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]), .init(name: "b", shape: [4], floats: [0.5, -1, 2, 8])]
        writer.metadata = ["format": "pt"]
        let url = directory.appending(path: "seed.safetensors")
        try writer.write(to: url)
        try fuzz("safetensors", seed: Array(try Data(contentsOf: url)), fileName: "f.safetensors", seedValue: 1,
                 named: Self.ownError) { try Self.readAll(try SafetensorsFile(url: $0)) }
    }

    @Test func shardedIndex() throws {
        for (shard, names) in [("m-1.safetensors", ["a"]), ("m-2.safetensors", ["b"])] {
            var writer = SafetensorsWriter()
            writer.tensors = names.map { .init(name: $0, shape: [2], floats: [1, 2]) }
            try writer.write(to: directory.appending(path: shard))
        }
        let index = #"{"metadata": {"total_size": 16}, "weight_map": {"a": "m-1.safetensors", "b": "m-2.safetensors"}}"#
        try fuzz("sharded index", seed: Array(index.utf8), fileName: "m.safetensors.index.json", seedValue: 2,
                 named: Self.ownError) { url in
            let set = try CheckpointSet.open([url.path])
            for reader in set.readers { try Self.readAll(reader) }
        }
    }

    @Test func pth() throws {
        let seedURL = try PTHFileTests().standardFile()
        try fuzz("pth", seed: Array(try Data(contentsOf: seedURL)), fileName: "f.pth", seedValue: 3,
                 named: Self.ownError) { try Self.readAll(try PTHFile(url: $0)) }
    }

    @Test func gguf() throws {
        try fuzz("gguf", seed: GGUFFileTests.standardWriter().serialized(), fileName: "f.gguf", seedValue: 4,
                 named: Self.ownError) { try Self.readAll(try GGUFFile(url: $0)) }
    }

    /// The .vkq header: mutations of the JSON with its checksum recomputed, so that they reach the decoder
    /// and the table checks (an unfixed checksum refuses everything at the first gate).
    @Test func vkqHeader() throws {
        let url = directory.appending(path: "seed.vkq")
        let writer = try VKQWriter(url: url, expectedTensorNames: ["w", "b"])
        try writer.append(.encode(name: "w", shape: [4, 32], values: (0 ..< 128).map { Float($0) / 64 }, as: .q8(group: 32), zstdLevel: nil))
        try writer.append(.encode(name: "b", shape: [4], values: [1, 2, 3, 4], as: .f32, zstdLevel: 3))
        _ = try writer.finish(family: "test", component: "transformer", config: .object(["dim": .int(32)]),
                              source: [SourceFile(name: "in.safetensors", size: 1, xxh3: "00")], converter: ConverterInfo(version: "test", recipe: "q8"))
        let seed = Array(try Data(contentsOf: url))
        let headerLength = Int(seed[8 ..< 16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let json = 64 ..< 64 + headerLength
        func rechecksum(_ bytes: [UInt8]) -> [UInt8] {
            guard bytes.count >= 64 + headerLength else { return bytes }
            var out = bytes
            let sum = bytes.withUnsafeBytes { Checksum.xxh3(UnsafeRawBufferPointer(rebasing: $0[json])) }
            for k in 0 ..< 8 { out[16 + k] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(k))) }
            return out
        }
        try fuzz("vkq header", seed: seed, region: json, fileName: "f.vkq", seedValue: 5, fix: rechecksum,
                 named: Self.ownError) { url in
            let file = try VKQFile(url: url)
            for t in file.tensors { _ = try file.floats(t.name) }
        }
        // And whole-file mutations (checksums as they are): open or verify refuses every changed file.
        try fuzz("vkq file", seed: seed, fileName: "g.vkq", seedValue: 6, mustRefuseChanges: true,
                 named: Self.ownError) { url in
            let file = try VKQFile(url: url)
            try file.verify()
            for t in file.tensors { _ = try file.floats(t.name) }
        }
    }
}
