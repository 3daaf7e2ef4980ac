import Foundation
import Testing
@testable import Checkpoints

@Suite struct PTHFileTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "vacekit-pth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ bytes: [UInt8], _ name: String = "model.pth") throws -> URL {
        let url = directory.appending(path: name)
        try Data(bytes).write(to: url)
        return url
    }

    /// An archive laid out like torch.save's: data.pkl, byteorder, storages, version.
    func archive(root: String = "archive", pickle: [UInt8], storages: [String: [UInt8]], zip64: Bool = false,
                 method: (String) -> UInt16 = { _ in 0 }) -> [UInt8] {
        var zip = ZipWriterForTests(forceZIP64: zip64)
        zip.add("\(root)/data.pkl", pickle, method: method("data.pkl"))
        zip.add("\(root)/.format_version", Array("1".utf8))
        zip.add("\(root)/byteorder", Array("little".utf8))
        for key in storages.keys.sorted() { zip.add("\(root)/data/\(key)", storages[key]!, method: method("data/\(key)")) }
        zip.add("\(root)/version", Array("3\n".utf8))
        return zip.serialized()
    }

    static let floats0to5 = littleEndianBytes((0 ..< 6).map(Float.init))
    static let bf16Pair = littleEndianBytes([UInt16(0x3FC0), 0xC000])  // 1.5, -2.0
    static let floats0to23 = littleEndianBytes((0 ..< 24).map(Float.init))

    /// The state dict of the tests: what `torch.save(OrderedDict(a=…, b=…, t=base.t(), …))` writes.
    static let tensors = [
        TorchTensorForTests(name: "a", storageType: "FloatStorage", key: "0", count: 6, shape: [2, 3], strides: [3, 1]),
        TorchTensorForTests(name: "b", storageType: "BFloat16Storage", key: "1", count: 2, shape: [2], strides: [1]),
        // base = arange(6).reshape(2, 3); t = base.t(): same storage, shape [3, 2], strides [1, 3].
        TorchTensorForTests(name: "t", storageType: "FloatStorage", key: "2", count: 6, shape: [3, 2], strides: [1, 3]),
        // a[1]: shares storage 0 from element 3.
        TorchTensorForTests(name: "row", storageType: "FloatStorage", key: "0", count: 6, offset: 3, shape: [3], strides: [1]),
        // arange(24).reshape(2, 3, 4).permute(2, 0, 1): shape [4, 2, 3], strides [1, 12, 4].
        TorchTensorForTests(name: "p", storageType: "FloatStorage", key: "3", count: 24, shape: [4, 2, 3], strides: [1, 12, 4]),
    ]

    func standardFile(root: String = "archive", zip64: Bool = false) throws -> URL {
        try write(archive(root: root, pickle: PickleAssembler.stateDict(Self.tensors),
                          storages: ["0": Self.floats0to5, "1": Self.bf16Pair, "2": Self.floats0to5, "3": Self.floats0to23], zip64: zip64))
    }

    @Test(arguments: [false, true]) func readsATorchStyleStateDict(zip64: Bool) throws {
        let file = try PTHFile(url: standardFile(zip64: zip64))
        #expect(file.names == ["a", "b", "t", "row", "p"])
        #expect(file.tensorInfos.map(\.dtype) == ["F32", "BF16", "F32", "F32", "F32"])
        #expect(file.tensorInfos.map(\.shape) == [[2, 3], [2], [3, 2], [3], [4, 2, 3]])
        #expect(file.metadata.isEmpty)
        #expect(try file.floats("a") == [0, 1, 2, 3, 4, 5])
        #expect(try file.floats("b") == [1.5, -2])
        #expect(try file.floats("t") == [0, 3, 1, 4, 2, 5])
        #expect(try file.floats("row") == [3, 4, 5])
        var permuted = [Float]()
        for i in 0 ..< 4 { for j in 0 ..< 2 { for k in 0 ..< 3 { permuted.append(Float(j * 12 + k * 4 + i)) } } }
        #expect(try file.floats("p") == permuted)
        #expect(file.entry("a")!.isContiguous && !file.entry("t")!.isContiguous)
        #expect(try file.data("t") == nil)
        #expect(try file.data("row").map { Array($0) } == Array(Self.floats0to5[12...]))
        #expect(throws: PTHError.self) { try file.floats("missing") }
    }

    @Test func theRootFolderNameDoesNotMatter() throws {
        let file = try PTHFile(url: standardFile(root: "Wan2.1_VAE"))
        #expect(try file.floats("t") == [0, 3, 1, 4, 2, 5])
        #expect(file.entry("a")?.storageEntry == "Wan2.1_VAE/data/0")
    }

    @Test func conformsToCheckpointReader() throws {
        let reader: any CheckpointReader = try PTHFile(url: standardFile())
        #expect(reader.tensorInfos.first == CheckpointTensorInfo(name: "a", dtype: "F32", shape: [2, 3]))
        #expect(try reader.floats("b") == [1.5, -2])
        // Released pages fault back in: a tensor sharing the storage still reads right.
        reader.releasePages("a")
        #expect(try reader.floats("row") == [3, 4, 5])
    }

    @Test func allStorageTypesMapToDTypes() throws {
        let cases: [(String, SafetensorsDType)] = [
            ("FloatStorage", .f32), ("HalfStorage", .f16), ("BFloat16Storage", .bf16), ("DoubleStorage", .f64),
            ("LongStorage", .i64), ("IntStorage", .i32), ("ShortStorage", .i16), ("CharStorage", .i8),
            ("ByteStorage", .u8), ("BoolStorage", .bool),
        ]
        let tensors = cases.enumerated().map { i, c in
            TorchTensorForTests(name: c.0, storageType: c.0, key: "\(i)", count: 2, shape: [2], strides: [1])
        }
        var storages = [String: [UInt8]]()
        for (i, c) in cases.enumerated() { storages["\(i)"] = [UInt8](repeating: 0, count: 2 * c.1.byteSize) }
        let file = try PTHFile(url: write(archive(pickle: PickleAssembler.stateDict(tensors), storages: storages)))
        #expect(file.entries.map(\.dtype) == cases.map(\.1))
        #expect(try file.floats("HalfStorage") == [0, 0])
        #expect(try file.floats("DoubleStorage") == [0, 0])
        #expect { try file.floats("LongStorage") } throws: { "\($0)".contains("'LongStorage'") && "\($0)".contains("I64") }
    }

    @Test func wrappedStateDictsAreUnwrappedAndScalarsBecomeMetadata() throws {
        // {"epoch": 7, "state_dict": {"w": tensor}, "lr": 0.5}
        var p = PickleAssembler()
        p.emptyDict()
        p.mark()
        p.string("epoch"); p.int(7)
        p.string("state_dict")
        let orderedDict = p.global("collections", "OrderedDict")
        p.emptyTuple(); p.reduce()
        p.string("w")
        p.tensor(TorchTensorForTests(name: "w", storageType: "FloatStorage", key: "0", count: 6, shape: [6], strides: [1]), orderedDict: orderedDict)
        p.setItem()
        p.string("lr"); p.bytes += [0x47] + withUnsafeBytes(of: Double(0.5).bitPattern.bigEndian) { Array($0) }
        p.setItems()
        p.stop()
        let file = try PTHFile(url: write(archive(pickle: p.bytes, storages: ["0": Self.floats0to5])))
        #expect(file.names == ["w"])
        #expect(try file.floats("w") == [0, 1, 2, 3, 4, 5])
        #expect(file.metadata.isEmpty)  // the wrapper's own scalars are outside what was unwrapped
        // Nested dicts without a wrapper key are flattened with dots.
        var q = PickleAssembler()
        q.emptyDict()
        q.mark()
        q.string("step"); q.int(3)
        q.string("encoder"); q.emptyDict()
        q.string("conv")
        let orderedDict2 = q.global("collections", "OrderedDict")
        q.emptyTuple(); q.reduce()
        q.string("weight")
        q.tensor(TorchTensorForTests(name: "", storageType: "FloatStorage", key: "0", count: 6, shape: [2, 3], strides: [3, 1]), orderedDict: orderedDict2)
        q.setItem()
        q.setItem()
        q.setItems()
        q.stop()
        let nested = try PTHFile(url: write(archive(pickle: q.bytes, storages: ["0": Self.floats0to5]), "nested.pt"))
        #expect(nested.names == ["encoder.conv.weight"])
        #expect(nested.metadata == ["step": "3"])
    }

    @Test func selfReferencingDictsEndWithAnError() throws {
        // d = {}; d["model"] = d; d["a"] = d; d["b"] = d — legal pickle, must neither hang nor blow up.
        var p = PickleAssembler()
        p.emptyDict()
        p.mark()
        for key in ["model", "a", "b"] { p.string(key); p.get(0) }
        p.setItems()
        p.stop()
        #expect { try PTHFile(url: write(archive(pickle: p.bytes, storages: [:]))) } throws: { "\($0)".contains("no tensors") }
    }

    @Test func compressedMembersAreRefusedByName() throws {
        let bytes = archive(pickle: PickleAssembler.stateDict(Self.tensors),
                                storages: ["0": Self.floats0to5, "1": Self.bf16Pair, "2": Self.floats0to5, "3": Self.floats0to23],
                                method: { $0 == "data/2" ? 8 : 0 })
        #expect { try PTHFile(url: write(bytes)) } throws: { error in
            error is ZipError && "\(error)".contains("'archive/data/2'") && "\(error)".contains("compressed") && "\(error)".contains("model.pth")
        }
        let pickleCompressed = archive(pickle: PickleAssembler.stateDict([]), storages: [:], method: { $0 == "data.pkl" ? 8 : 0 })
        #expect { try PTHFile(url: write(pickleCompressed, "p.pth")) } throws: { "\($0)".contains("'archive/data.pkl'") }
    }

    @Test func truncatedArchivesGiveClearErrors() throws {
        let bytes = archive(pickle: PickleAssembler.stateDict(Self.tensors),
                                storages: ["0": Self.floats0to5, "1": Self.bf16Pair, "2": Self.floats0to5, "3": Self.floats0to23])
        for cut in [1, 30, bytes.count / 2] {
            let url = try write(Array(bytes.dropLast(cut)), "cut\(cut).pth")
            #expect { try PTHFile(url: url) } throws: { error in
                "\(error)".contains("cut\(cut).pth") && "\(error)".contains("truncated")
            }
        }
        #expect { try PTHFile(url: write([0x50, 0x4B, 3, 4, 0], "tiny.pth")) } throws: { "\($0)".contains("too short") }
    }

    @Test func aStorageSmallerThanItsTensorIsRefused() throws {
        let tensors = [TorchTensorForTests(name: "w", storageType: "FloatStorage", key: "0", count: 6, shape: [6], strides: [1])]
        let url = try write(archive(pickle: PickleAssembler.stateDict(tensors), storages: ["0": Array(Self.floats0to5.prefix(20))]))
        #expect { try PTHFile(url: url) } throws: { "\($0)".contains("'w'") && "\($0)".contains("truncated") }
        let outside = [TorchTensorForTests(name: "v", storageType: "FloatStorage", key: "0", count: 6, offset: 4, shape: [3], strides: [1])]
        let url2 = try write(archive(pickle: PickleAssembler.stateDict(outside), storages: ["0": Self.floats0to5]), "v.pth")
        #expect { try PTHFile(url: url2) } throws: { "\($0)".contains("'v'") && "\($0)".contains("reaches past") }
        let missing = [TorchTensorForTests(name: "m", storageType: "FloatStorage", key: "9", count: 6, shape: [6], strides: [1])]
        let url3 = try write(archive(pickle: PickleAssembler.stateDict(missing), storages: ["0": Self.floats0to5]), "m.pth")
        #expect { try PTHFile(url: url3) } throws: { "\($0)".contains("'m'") && "\($0)".contains("archive/data/9") }
    }

    @Test func otherFormatsAreNamed() throws {
        #expect { try PTHFile(url: write([0x80, 0x02, 0x8A, 0x0A], "legacy.pth")) } throws: { "\($0)".contains("legacy") }
        #expect { try PTHFile(url: write(Array("GGUF....".utf8), "g.pth")) } throws: { "\($0)".contains("ZIP signature") }
        var zip = ZipWriterForTests()
        zip.add("hello.txt", [1])
        #expect { try PTHFile(url: write(zip.serialized(), "z.pth")) } throws: { "\($0)".contains("data.pkl") }
        let noTensors = archive(pickle: PickleAssembler.stateDict([]), storages: [:])
        #expect { try PTHFile(url: write(noTensors, "empty.pth")) } throws: { "\($0)".contains("no tensors") }
    }

    @Test func bigEndianArchivesAreRefused() throws {
        var zip = ZipWriterForTests()
        zip.add("archive/data.pkl", PickleAssembler.stateDict([]))
        zip.add("archive/byteorder", Array("big".utf8))
        #expect(throws: PTHError.self) { try PTHFile(url: write(zip.serialized())) }
    }
}
