import Foundation
import Testing
@testable import Checkpoints

/// Writes GGUF bytes as gguf-py does: header, key/values, tensor infos, padding, aligned data.
struct GGUFWriterForTests {
    struct Tensor {
        var name: String
        /// ggml order: innermost first.
        var ne: [UInt64]
        var type: UInt32
        var data: [UInt8]
        /// Overrides the computed offset (for the malformed cases).
        var offset: UInt64?
    }

    var version: UInt32 = 3
    var alignment = 32
    var values: [(String, GGUFValue)] = []
    var tensors: [Tensor] = []

    mutating func add(_ name: String, ne: [UInt64], type: UInt32, data: [UInt8], offset: UInt64? = nil) {
        tensors.append(Tensor(name: name, ne: ne, type: type, data: data, offset: offset))
    }

    func serialized() -> [UInt8] {
        var out = Array("GGUF".utf8)
        out.le32(version); out.le64(UInt64(tensors.count)); out.le64(UInt64(values.count))
        for (key, value) in values {
            Self.string(key, into: &out)
            out.le32(Self.type(of: value).rawValue)
            Self.append(value, into: &out)
        }
        var offsets = [UInt64](), next = 0
        for tensor in tensors {
            offsets.append(tensor.offset ?? UInt64(next))
            next = (next + tensor.data.count + alignment - 1) / alignment * alignment
        }
        for (tensor, offset) in zip(tensors, offsets) {
            Self.string(tensor.name, into: &out)
            out.le32(UInt32(tensor.ne.count)); tensor.ne.forEach { out.le64($0) }
            out.le32(tensor.type); out.le64(offset)
        }
        out += [UInt8](repeating: 0, count: (alignment - out.count % alignment) % alignment)
        let dataStart = out.count
        for tensor in tensors where tensor.offset == nil {
            out += [UInt8](repeating: 0, count: dataStart + Int(offsets[tensors.firstIndex { $0.name == tensor.name }!]) - out.count)
            out += tensor.data
        }
        out += [UInt8](repeating: 0, count: (alignment - out.count % alignment) % alignment)
        return out
    }

    static func string(_ s: String, into out: inout [UInt8]) { out.le64(UInt64(s.utf8.count)); out += Array(s.utf8) }

    static func type(of value: GGUFValue) -> GGUFValueType {
        switch value {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    static func append(_ value: GGUFValue, into out: inout [UInt8]) {
        switch value {
        case .uint8(let v): out.append(v)
        case .int8(let v): out.append(UInt8(bitPattern: v))
        case .uint16(let v): out.le16(v)
        case .int16(let v): out.le16(UInt16(bitPattern: v))
        case .uint32(let v): out.le32(v)
        case .int32(let v): out.le32(UInt32(bitPattern: v))
        case .uint64(let v): out.le64(v)
        case .int64(let v): out.le64(UInt64(bitPattern: v))
        case .float32(let v): out.le32(v.bitPattern)
        case .float64(let v): out.le64(v.bitPattern)
        case .bool(let v): out.append(v ? 1 : 0)
        case .string(let s): string(s, into: &out)
        case .array(let type, let items):
            out.le32(type.rawValue); out.le64(UInt64(items.count))
            items.forEach { append($0, into: &out) }
        }
    }
}

/// A Q8_0 block: f16 scale then 32 int8.
func q8_0Block(scale: Float16, _ values: [Int8]) -> [UInt8] {
    littleEndianBytes([scale.bitPattern]) + values.map { UInt8(bitPattern: $0) }
}

@Suite struct GGUFFileTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "vacekit-gguf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ bytes: [UInt8], _ name: String = "model.gguf") throws -> URL {
        let url = directory.appending(path: name)
        try Data(bytes).write(to: url)
        return url
    }

    static let q8Values: [Int8] = (0 ..< 64).map { Int8(truncatingIfNeeded: $0 * 37 - 128) }

    /// F32 [2, 3], F16 [4], BF16 [2], Q8_0 [2, 32] and metadata of every type.
    static func standardWriter(version: UInt32 = 3) -> GGUFWriterForTests {
        var w = GGUFWriterForTests(version: version)
        w.values = [
            ("general.architecture", .string("wan")),
            ("t.u8", .uint8(200)), ("t.i8", .int8(-5)), ("t.u16", .uint16(60000)), ("t.i16", .int16(-300)),
            ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-7)), ("t.u64", .uint64(1 << 40)), ("t.i64", .int64(-(1 << 40))),
            ("t.f32", .float32(0.5)), ("t.f64", .float64(-2.25)), ("t.bool", .bool(true)),
            ("t.ints", .array(.int32, [.int32(1), .int32(-2), .int32(3)])),
            ("t.words", .array(.string, [.string("a"), .string("b")])),
            ("t.vocab", .array(.string, (0 ..< 20).map { .string("tok\($0)") })),
            ("t.nested", .array(.array, [.array(.uint8, [.uint8(1)]), .array(.uint8, [])])),
        ]
        w.add("a.weight", ne: [3, 2], type: 0, data: littleEndianBytes([Float](arrayLiteral: 1, 2, 3, 4, 5, 6)))
        w.add("b", ne: [4], type: 1, data: littleEndianBytes([Float16](arrayLiteral: 1.5, -2.25, 0.125, 65504)))
        w.add("c", ne: [2], type: 30, data: littleEndianBytes([UInt16(0x3F80), 0xC000]))
        w.add("q", ne: [32, 2], type: 8, data: q8_0Block(scale: 0.5, Array(q8Values[..<32])) + q8_0Block(scale: -0.125, Array(q8Values[32...])))
        return w
    }

    @Test(arguments: [UInt32(2), 3]) func readsWhatTheWriterWrote(version: UInt32) throws {
        let file = try GGUFFile(url: write(Self.standardWriter(version: version).serialized()))
        #expect(file.version == Int(version))
        #expect(file.names == ["a.weight", "b", "c", "q"])
        #expect(file.tensorInfos.map(\.shape) == [[2, 3], [4], [2], [2, 32]])
        #expect(file.tensorInfos.map(\.dtype) == ["F32", "F16", "BF16", "Q8_0"])
        #expect(try file.floats("a.weight") == [1, 2, 3, 4, 5, 6])
        #expect(try file.floats("b") == [1.5, -2.25, 0.125, 65504])
        #expect(try file.floats("c") == [1, -2])
        let expected = (0 ..< 64).map { Float(Self.q8Values[$0]) * ($0 < 32 ? 0.5 : -0.125) }
        #expect(try file.floats("q") == expected)
        let blocks = try #require(try file.q8_0Blocks("q"))
        #expect(blocks.values == Self.q8Values && blocks.scales == [0.5, -0.125])
        #expect(try file.q8_0Blocks("a.weight") == nil)
        #expect(throws: GGUFError.self) { try file.floats("missing") }
    }

    @Test func metadataIsTypedAndRenderedAsText() throws {
        let file = try GGUFFile(url: write(Self.standardWriter().serialized()))
        #expect(file.value("t.u32") == .uint32(4_000_000_000))
        #expect(file.value("t.i64")?.intValue == -(1 << 40))
        #expect(file.value("t.f32")?.doubleValue == 0.5)
        #expect(file.value("t.ints")?.arrayValue?.compactMap(\.intValue) == [1, -2, 3])
        #expect(file.value("general.architecture")?.stringValue == "wan")
        #expect(file.value("t.bool")?.boolValue == true)
        let expected: [String: String] = [
            "general.architecture": "wan", "t.u8": "200", "t.i8": "-5", "t.u16": "60000", "t.i16": "-300",
            "t.u32": "4000000000", "t.i32": "-7", "t.u64": "1099511627776", "t.i64": "-1099511627776",
            "t.f32": "0.5", "t.f64": "-2.25", "t.bool": "true", "t.ints": "[1, -2, 3]", "t.words": "[\"a\", \"b\"]",
            "t.vocab": "[20 × string]", "t.nested": "[[1], []]",
        ]
        #expect(file.metadata == expected)
        #expect(file.values.map(\.key).first == "general.architecture")
    }

    @Test func conformsToCheckpointReader() throws {
        let reader: any CheckpointReader = try GGUFFile(url: write(Self.standardWriter().serialized()))
        #expect(reader.tensorInfos.last == CheckpointTensorInfo(name: "q", dtype: "Q8_0", shape: [2, 32]))
        #expect(try reader.floats("c") == [1, -2])
        reader.releasePages("c")
        #expect(try reader.floats("c") == [1, -2])
    }

    @Test func alignmentIsHonoured() throws {
        var w = Self.standardWriter()
        w.alignment = 64
        w.values.append(("general.alignment", .uint32(64)))
        let file = try GGUFFile(url: write(w.serialized()))
        #expect(file.alignment == 64)
        #expect(file.entries.allSatisfy { $0.range.lowerBound % 64 == 0 })
        #expect(try file.floats("q") == (0 ..< 64).map { Float(Self.q8Values[$0]) * ($0 < 32 ? 0.5 : -0.125) })
        var bad = Self.standardWriter()
        bad.values.append(("general.alignment", .uint32(48)))
        #expect { try GGUFFile(url: write(bad.serialized(), "a48.gguf")) } throws: { "\($0)".contains("general.alignment") }
    }

    @Test func comfyOriginalShapesRestoreFiveDimensions() throws {
        // ComfyUI-GGUF flattens a Conv3d weight [2, 4, 1, 8, 8] to [2, 256] and records the shape.
        var w = GGUFWriterForTests()
        w.values = [("comfy.gguf.orig_shape.patch_embedding.weight", .array(.int32, [2, 4, 1, 8, 8].map { .int32($0) }))]
        w.add("patch_embedding.weight", ne: [256, 2], type: 0, data: littleEndianBytes((0 ..< 512).map(Float.init)))
        let file = try GGUFFile(url: write(w.serialized()))
        #expect(file.entry("patch_embedding.weight")?.shape == [2, 4, 1, 8, 8])
        #expect(file.entry("patch_embedding.weight")?.storedShape == [2, 256])
        #expect(try file.floats("patch_embedding.weight") == (0 ..< 512).map(Float.init))
        w.values = [("comfy.gguf.orig_shape.patch_embedding.weight", .array(.int32, [2, 4, 8].map { .int32($0) }))]
        #expect { try GGUFFile(url: write(w.serialized(), "bad.gguf")) } throws: { "\($0)".contains("'patch_embedding.weight'") && "\($0)".contains("orig_shape") }
    }

    @Test func unsupportedTypesAreNamedWithTheTensor() throws {
        for (id, text) in [(UInt32(10), "Q2_K (10)"), (99, "id 99")] {
            var w = GGUFWriterForTests()
            w.add("blocks.0.ffn.0.weight", ne: [256], type: id, data: [UInt8](repeating: 0, count: 256))
            let url = try write(w.serialized(), "t\(id).gguf")
            #expect { try GGUFFile(url: url) } throws: { error in
                guard case GGUFError.unsupportedType(_, "blocks.0.ffn.0.weight", id) = error else { return false }
                return "\(error)".contains("t\(id).gguf") && "\(error)".contains("'blocks.0.ffn.0.weight'") && "\(error)".contains(text)
            }
        }
    }

    @Test func truncatedFilesAreRejectedWithTheirName() throws {
        let bytes = Self.standardWriter().serialized()
        let inData = try write(Array(bytes.dropLast(40)), "cut.gguf")
        #expect { try GGUFFile(url: inData) } throws: { "\($0)".contains("cut.gguf") && "\($0)".contains("'q'") && "\($0)".contains("truncated") }
        for length in [3, 10, 30, 100] {
            let url = try write(Array(bytes.prefix(length)), "head\(length).gguf")
            #expect { try GGUFFile(url: url) } throws: { "\($0)".contains("head\(length).gguf") && ("\($0)".contains("truncated") || "\($0)".contains("magic") || "\($0)".contains("can hold")) }
        }
    }

    @Test func malformedHeadersAreRejected() throws {
        var notGGUF = Self.standardWriter().serialized()
        notGGUF[0] = 0x47 + 1
        #expect { try GGUFFile(url: write(notGGUF, "x.gguf")) } throws: { "\($0)".contains("magic") }
        #expect { try GGUFFile(url: write(Self.standardWriter(version: 1).serialized(), "v1.gguf")) } throws: { "\($0)".contains("version 1") }

        var misaligned = GGUFWriterForTests()
        misaligned.add("w", ne: [4], type: 0, data: [UInt8](repeating: 0, count: 16), offset: 4)
        #expect { try GGUFFile(url: write(misaligned.serialized(), "m.gguf")) } throws: { "\($0)".contains("'w'") && "\($0)".contains("alignment") }

        var overlapping = GGUFWriterForTests()
        overlapping.add("a", ne: [16], type: 0, data: [UInt8](repeating: 0, count: 64))
        overlapping.add("b", ne: [8], type: 0, data: [], offset: 32)
        #expect { try GGUFFile(url: write(overlapping.serialized(), "o.gguf")) } throws: { "\($0)".contains("overlap") }

        var partialBlock = GGUFWriterForTests()
        partialBlock.add("q", ne: [16, 2], type: 8, data: [UInt8](repeating: 0, count: 34))
        #expect { try GGUFFile(url: write(partialBlock.serialized(), "p.gguf")) } throws: { "\($0)".contains("'q'") && "\($0)".contains("multiple of the Q8_0 block") }

        var duplicateKey = GGUFWriterForTests()
        duplicateKey.values = [("k", .uint8(1)), ("k", .uint8(2))]
        #expect { try GGUFFile(url: write(duplicateKey.serialized(), "d.gguf")) } throws: { "\($0)".contains("'k' appears twice") }

        var hugeCount = Array("GGUF".utf8)
        hugeCount.le32(3); hugeCount.le64(1 << 50); hugeCount.le64(0)
        #expect { try GGUFFile(url: write(hugeCount, "h.gguf")) } throws: { "\($0)".contains("tensor count") }
    }

    @Test func lossinessFollowsTheBitWidth() {
        #expect(GGUFFile.isLossy(.q4_K) && GGUFFile.isLossy(.q6_K) && GGUFFile.isLossy(.q5_0))
        #expect(!GGUFFile.isLossy(.q8_0) && !GGUFFile.isLossy(.f16) && !GGUFFile.isLossy(.bf16))
    }
}
