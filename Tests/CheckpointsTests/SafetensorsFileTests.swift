import Foundation
import Testing
@testable import Checkpoints

@Suite struct SafetensorsFileTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "vacekit-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ bytes: [UInt8], _ name: String = "t.safetensors") throws -> URL {
        let url = directory.appending(path: name)
        try Data(bytes).write(to: url)
        return url
    }

    /// A file by hand: header JSON + raw data, for the malformed cases.
    func rawFile(header: String, data: [UInt8]) -> [UInt8] {
        let json = Array(header.utf8)
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        return out + json + data
    }

    @Test func readsWhatTheWriterWrote() throws {
        let half: [Float16] = [1.5, -2.25, 0.125]
        let bf16: [UInt16] = [0x3F80, 0xC000]  // 1.0, -2.0
        let writer = SafetensorsWriter(tensors: [
            .init(name: "a.weight", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]),
            .init(name: "b", dtype: .f16, shape: [3], bytes: half.withUnsafeBytes { Array($0) }),
            .init(name: "c", dtype: .bf16, shape: [2], bytes: bf16.withUnsafeBytes { Array($0) }),
            .init(name: "empty", dtype: .f32, shape: [0, 4], bytes: []),
        ], metadata: ["format": "pt"])
        let file = try SafetensorsFile(url: write(try writer.serialized()))
        #expect(Set(file.names) == ["a.weight", "b", "c", "empty"])
        #expect(file.metadata == ["format": "pt"])
        #expect(file.entry("a.weight")?.shape == [2, 3])
        #expect(try file.floats("a.weight") == [1, 2, 3, 4, 5, 6])
        #expect(try file.floats("b") == [1.5, -2.25, 0.125])
        #expect(try file.floats("c") == [1, -2])
        #expect(try file.floats("empty").isEmpty)
        #expect(throws: SafetensorsError.self) { try file.floats("missing") }
    }

    @Test func fp8E4M3Decodes() {
        #expect(FloatDecoding.float8E4M3(0x38) == 1.0)     // 0.0111.000
        #expect(FloatDecoding.float8E4M3(0xC0) == -2.0)    // 1.1000.000
        #expect(FloatDecoding.float8E4M3(0x7E) == 448.0)   // largest finite
        #expect(FloatDecoding.float8E4M3(0x01) == 1.0 / 512) // smallest subnormal
        #expect(FloatDecoding.float8E4M3(0x7F).isNaN)
    }

    @Test func truncatedFileIsRejectedWithItsName() throws {
        let bytes = try SafetensorsWriter(tensors: [.init(name: "w", shape: [64], floats: .init(repeating: 1, count: 64))]).serialized()
        let url = try write(Array(bytes.dropLast(4)), "cut.safetensors")
        #expect { try SafetensorsFile(url: url) } throws: { error in
            "\(error)".contains("cut.safetensors") && "\(error)".contains("'w'") && "\(error)".contains("truncated")
        }
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(url: try write([1, 2, 3], "tiny.safetensors")) }
    }

    @Test func headerLengthPastTheEnd() throws {
        var bytes = rawFile(header: "{}", data: [])
        bytes[0] = 200
        #expect { try SafetensorsFile(url: try write(bytes)) } throws: { "\($0)".contains("runs past the end") }
    }

    @Test func malformedHeadersAreRejected() throws {
        let cases: [(String, [UInt8], String)] = [
            ("{not json", [], "not valid JSON"),
            ("[1,2]", [], "not valid JSON"),
            (#"{"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], "unknown dtype 'Q7'"),
            (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], "does not match"),
            (#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], "shape"),
            (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, [0, 0, 0, 0], "past the end"),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, [0, 0, 0, 0], "data_offsets"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
             [UInt8](repeating: 0, count: 12), "overlap"),
            (#"{"__metadata__":{"k":5}}"#, [], "'__metadata__' field k"),
        ]
        for (index, (header, data, expected)) in cases.enumerated() {
            let url = try write(rawFile(header: header, data: data), "bad\(index).safetensors")
            #expect("header \(header) should fail with '\(expected)'") { try SafetensorsFile(url: url) } throws: { error in
                let text = "\(error)"
                return text.contains(expected) && text.contains("bad\(index).safetensors")
            }
        }
    }
}
