import Foundation
import Testing
@testable import Checkpoints

/// Builds `.pth` bytes in Swift so the tests need no fixture files and no Python: a minimal ZIP
/// writer laid out like torch.save's (stored members, data-descriptor flag with zero sizes in the local
/// headers, padded local extra fields, optional ZIP64 records) and a pickle assembler.

struct ZipWriterForTests {
    struct Member {
        var name: String
        var data: [UInt8]
        /// Recorded in the headers only; the bytes are always written as given.
        var method: UInt16 = 0
    }

    var members: [Member] = []
    /// Write ZIP64 extra fields and end records even though nothing needs them, to test that path.
    var forceZIP64 = false

    mutating func add(_ name: String, _ data: [UInt8], method: UInt16 = 0) {
        members.append(Member(name: name, data: data, method: method))
    }

    func serialized() -> [UInt8] {
        var out = [UInt8]()
        var central = [UInt8]()
        for member in members {
            let offset = out.count
            let name = Array(member.name.utf8)
            // Local header: torch sets bit 3 (sizes in a trailing descriptor) and leaves the sizes zero.
            out.le32(0x0403_4B50); out.le16(20); out.le16(0x0808); out.le16(member.method)
            out.le16(0); out.le16(0); out.le32(0); out.le32(0); out.le32(0)
            // Pad the extra field so the data starts on a 64-byte boundary, as torch does.
            let unpadded = offset + 30 + name.count + 4
            let padding = (64 - unpadded % 64) % 64
            out.le16(UInt16(name.count)); out.le16(UInt16(4 + padding))
            out += name
            out.le16(0x4246); out.le16(UInt16(padding)); out += [UInt8](repeating: 0x5A, count: padding)
            out += member.data
            out.le32(0x0807_4B50); out.le32(0); out.le32(UInt32(member.data.count)); out.le32(UInt32(member.data.count))

            let saturate = forceZIP64
            central.le32(0x0201_4B50); central.le16(45); central.le16(45); central.le16(0x0808); central.le16(member.method)
            central.le16(0); central.le16(0); central.le32(0)
            central.le32(saturate ? 0xFFFF_FFFF : UInt32(member.data.count))
            central.le32(saturate ? 0xFFFF_FFFF : UInt32(member.data.count))
            central.le16(UInt16(name.count)); central.le16(saturate ? 28 : 0); central.le16(0)
            central.le16(0); central.le16(0); central.le32(0)
            central.le32(saturate ? 0xFFFF_FFFF : UInt32(offset))
            central += name
            if saturate {
                central.le16(1); central.le16(24)
                central.le64(UInt64(member.data.count)); central.le64(UInt64(member.data.count)); central.le64(UInt64(offset))
            }
        }
        let directoryOffset = out.count
        out += central
        if forceZIP64 {
            let record = out.count
            out.le32(0x0606_4B50); out.le64(44); out.le16(45); out.le16(45); out.le32(0); out.le32(0)
            out.le64(UInt64(members.count)); out.le64(UInt64(members.count))
            out.le64(UInt64(central.count)); out.le64(UInt64(directoryOffset))
            out.le32(0x0706_4B50); out.le32(0); out.le64(UInt64(record)); out.le32(1)
        }
        out.le32(0x0605_4B50); out.le16(0); out.le16(0)
        out.le16(forceZIP64 ? 0xFFFF : UInt16(members.count)); out.le16(forceZIP64 ? 0xFFFF : UInt16(members.count))
        out.le32(forceZIP64 ? 0xFFFF_FFFF : UInt32(central.count)); out.le32(forceZIP64 ? 0xFFFF_FFFF : UInt32(directoryOffset))
        out.le16(0)
        return out
    }
}

/// Assembles pickle opcodes by name. Like Python's pickler, a string or global seen before is
/// fetched from the memo (BINGET) instead of written again.
struct PickleAssembler {
    var bytes: [UInt8] = [0x80, 2]  // PROTO 2, what torch.save writes
    private var memoCount = 0
    private var memoized: [String: Int] = [:]

    /// GLOBAL, memoized; returns the memo index for later BINGETs.
    @discardableResult mutating func global(_ module: String, _ name: String) -> Int {
        if let index = memoized["g" + module + "." + name] { get(index); return index }
        bytes += [0x63] + Array("\(module)\n\(name)\n".utf8)
        memoized["g" + module + "." + name] = memoCount
        return put()
    }
    mutating func string(_ text: String) {
        if let index = memoized["s" + text] { get(index); return }
        bytes.append(0x58); bytes.le32(UInt32(text.utf8.count)); bytes += Array(text.utf8)
        memoized["s" + text] = memoCount
        put()
    }
    /// The smallest int opcode, as pickle picks it.
    mutating func int(_ value: Int) {
        switch value {
        case 0 ... 0xFF: bytes += [0x4B, UInt8(value)]
        case 0x100 ... 0xFFFF: bytes.append(0x4D); bytes.le16(UInt16(value))
        case Int(Int32.min) ... Int(Int32.max): bytes.append(0x4A); bytes.le32(UInt32(bitPattern: Int32(value)))
        default: bytes += [0x8A, 8]; bytes.le64(UInt64(bitPattern: Int64(value)))
        }
    }
    mutating func ints(_ values: [Int]) {
        switch values.count {
        case 0: bytes.append(0x29)
        case 1 ... 3: values.forEach { int($0) }; bytes.append(0x84 + UInt8(values.count))
        default: mark(); values.forEach { int($0) }; bytes.append(0x74)
        }
        put()
    }
    mutating func mark() { bytes.append(0x28) }
    mutating func tuple() { bytes.append(0x74); put() }
    mutating func emptyTuple() { bytes.append(0x29) }
    mutating func emptyDict() { bytes.append(0x7D); put() }
    mutating func reduce() { bytes.append(0x52); put() }
    mutating func persistentID() { bytes.append(0x51) }
    mutating func setItem() { bytes.append(0x73) }
    mutating func setItems() { bytes.append(0x75) }
    mutating func newFalse() { bytes.append(0x89) }
    mutating func stop() { bytes.append(0x2E) }
    /// BINPUT of the top of the stack; returns its memo index.
    @discardableResult mutating func put() -> Int {
        bytes += [0x71, UInt8(memoCount)]
        memoCount += 1
        return memoCount - 1
    }
    mutating func get(_ index: Int) { bytes += [0x68, UInt8(index)] }
}

/// One tensor as torch.save pickles it: a view into storage `key` of `count` elements.
struct TorchTensorForTests {
    var name: String
    var storageType: String
    var key: String
    var count: Int
    var offset = 0
    var shape: [Int]
    var strides: [Int]
}

extension PickleAssembler {
    /// `_rebuild_tensor_v2(('storage', torch.<T>, key, 'cpu', count), offset, shape, strides, False, OrderedDict())`,
    /// opcode for opcode as torch.save writes it (compare `pickletools.dis` of a real file).
    mutating func tensor(_ t: TorchTensorForTests, orderedDict: Int) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark(); string("storage"); global("torch", t.storageType); string(t.key); string("cpu"); int(t.count); tuple()
        persistentID()
        int(t.offset); ints(t.shape); ints(t.strides); newFalse()
        get(orderedDict); emptyTuple(); reduce()
        tuple()
        reduce()
    }

    /// A whole torch.save'd `OrderedDict` of `tensors`. For the first three tensors of `PTHFileTests`
    /// this was checked byte-identical to the data.pkl torch 2.x writes for the same dict.
    static func stateDict(_ tensors: [TorchTensorForTests]) -> [UInt8] {
        var p = PickleAssembler()
        let orderedDict = p.global("collections", "OrderedDict")
        p.emptyTuple(); p.reduce()
        p.mark()
        for t in tensors {
            p.string(t.name)
            p.tensor(t, orderedDict: orderedDict)
        }
        p.setItems()
        p.stop()
        return p.bytes
    }
}

extension [UInt8] {
    mutating func le16(_ v: UInt16) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func le32(_ v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func le64(_ v: UInt64) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
}

func littleEndianBytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

@Suite struct PTHFixtureTests {
    @Test func zipWriterOutputReadsBackBothWays() throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "vacekit-zip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for zip64 in [false, true] {
            var writer = ZipWriterForTests(forceZIP64: zip64)
            writer.add("root/a", [1, 2, 3])
            writer.add("root/b", Array(0 ..< 200))
            writer.add("root/empty", [])
            let url = directory.appending(path: "z\(zip64).zip")
            try Data(writer.serialized()).write(to: url)
            let archive = try ZipArchive(url: url)
            #expect(archive.entries.map(\.name) == ["root/a", "root/b", "root/empty"])
            #expect(try Array(archive.data(archive.entry(named: "root/b")!)) == Array(0 ..< 200))
            #expect(try archive.data(archive.entry(named: "root/empty")!).isEmpty)
            // Data starts on a 64-byte boundary, as in torch's files.
            #expect(archive.entries.allSatisfy { $0.dataRange.lowerBound % 64 == 0 })
        }
    }
}
