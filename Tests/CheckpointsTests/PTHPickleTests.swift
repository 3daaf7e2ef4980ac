import Foundation
import Testing
@testable import Checkpoints

/// The safe unpickler on its own: what it builds, and what it refuses.
@Suite struct PTHPickleTests {
    let url = URL(fileURLWithPath: "/models/evil.pth")

    func load(_ bytes: [UInt8]) throws -> PickleValue {
        try bytes.withUnsafeBytes { try PickleMachine.load($0, url: url) }
    }

    @Test func forbiddenGlobalsAreRefusedByName() throws {
        // The classic payload: os.system("echo pwned") via GLOBAL + REDUCE.
        var p = PickleAssembler()
        p.global("os", "system"); p.string("echo pwned"); p.bytes.append(0x85); p.reduce(); p.stop()
        #expect { try load(p.bytes) } throws: { error in
            guard case PTHError.forbiddenGlobal(let file, let name) = error else { return false }
            return file == url && name == "os.system" && "\(error)".contains("evil.pth") && "\(error)".contains("'os.system'")
        }
        // STACK_GLOBAL (protocol 4) spelling of builtins.eval, and the Python 2 name of getattr.
        let stackGlobal: [UInt8] = [0x80, 4, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93, 0x2E]
        #expect { try load(stackGlobal) } throws: { "\($0)".contains("'builtins.eval'") }
        var q = PickleAssembler()
        q.global("__builtin__", "getattr"); q.stop()
        #expect { try load(q.bytes) } throws: { "\($0)".contains("'__builtin__.getattr'") }
        // A look-alike of an allowed name is still refused.
        var r = PickleAssembler()
        r.global("torch._utils", "_rebuild_tensor_v2x"); r.stop()
        #expect { try load(r.bytes) } throws: { "\($0)".contains("'torch._utils._rebuild_tensor_v2x'") }
    }

    @Test func allowedGlobalsCannotBeMisused() throws {
        // A storage class is not callable, and a type marker cannot be reduced.
        var p = PickleAssembler()
        p.global("torch", "FloatStorage"); p.emptyTuple(); p.reduce(); p.stop()
        #expect { try load(p.bytes) } throws: { "\($0)".contains("torch.FloatStorage is not callable") }
    }

    @Test func unknownOpcodesAreNamedWithTheirOffset() throws {
        // NEWOBJ (0x81) would instantiate a class: not supported.
        #expect { try load([0x80, 2, 0x29, 0x81]) } throws: { error in
            guard case PTHError.unsupportedOpcode(_, 0x81, 3) = error else { return false }
            return "\(error)".contains("0x81") && "\(error)".contains("byte 3")
        }
        #expect { try load([0x80, 2, 0x49]) } throws: { "\($0)".contains("0x49") && "\($0)".contains("'I'") }
    }

    @Test func truncatedAndMalformedPicklesAreErrors() throws {
        #expect { try load([0x80, 2, 0x4B, 1]) } throws: { "\($0)".contains("without STOP") }
        #expect { try load([0x80, 2, 0x58, 0xFF, 0, 0, 0, 0x41]) } throws: { "\($0)".contains("past the end of data.pkl") }
        #expect { try load([0x80, 2, 0x73, 0x2E]) } throws: { "\($0)".contains("underflow") }
        #expect { try load([0x80, 2, 0x68, 7, 0x2E]) } throws: { "\($0)".contains("never PUT") }
        #expect { try load([0x80, 2, 0x4B, 1, 0x4B, 2, 0x73, 0x2E]) } throws: { "\($0)".contains("not a dict") }
        #expect { try load([0x80, 2, 0x28, 0x2E]) } throws: { "\($0)".contains("MARK") }
        #expect { try load([0x80, 2, 0x8A, 9] + [UInt8](repeating: 0, count: 9) + [0x2E]) } throws: { "\($0)".contains("64 bits") }
    }

    @Test func scalarsDecode() throws {
        func scalar(_ body: [UInt8]) throws -> PickleValue { try load([0x80, 2] + body + [0x2E]) }
        guard case .int(-2) = try scalar([0x4A, 0xFE, 0xFF, 0xFF, 0xFF]) else { Issue.record("BININT"); return }
        guard case .int(0x1234) = try scalar([0x4D, 0x34, 0x12]) else { Issue.record("BININT2"); return }
        guard case .int(-1) = try scalar([0x8A, 1, 0xFF]) else { Issue.record("LONG1 -1"); return }
        guard case .int(255) = try scalar([0x8A, 2, 0xFF, 0x00]) else { Issue.record("LONG1 255"); return }
        guard case .int(0) = try scalar([0x8A, 0]) else { Issue.record("LONG1 0"); return }
        guard case .int(1 << 40) = try scalar([0x8A, 6, 0, 0, 0, 0, 0, 1]) else { Issue.record("LONG1 2^40"); return }
        guard case .float(-0.75) = try scalar([0x47] + withUnsafeBytes(of: (-0.75).bitPattern.bigEndian) { Array($0) }) else {
            Issue.record("BINFLOAT"); return
        }
        guard case .string("hé") = try scalar([0x8C, 3, 0x68, 0xC3, 0xA9]) else { Issue.record("SHORT_BINUNICODE"); return }
        guard case .string("ab") = try scalar([0x55, 2, 0x61, 0x62]) else { Issue.record("SHORT_BINSTRING"); return }
        guard case .bool(true) = try scalar([0x88]) else { Issue.record("NEWTRUE"); return }
        guard case .none = try scalar([0x4E]) else { Issue.record("NONE"); return }
    }

    @Test func memoizedDictsSeeLaterMutations() throws {
        // d = {}; memo[0] = d; d["k"] = 1; return (d, memo[0]) — both must hold "k".
        var p = PickleAssembler()
        p.mark()
        p.emptyDict()
        p.string("k"); p.int(1); p.setItem()
        p.get(0)
        p.tuple()
        p.stop()
        guard case .tuple(let items) = try load(p.bytes), items.count == 2,
              case .dict(let first) = items[0], case .dict(let second) = items[1] else {
            Issue.record("expected a 2-tuple of dicts"); return
        }
        #expect(first === second)
        #expect(second.value(forKey: "k").flatMap { if case .int(let i) = $0 { i } else { nil } } == 1)
    }

    @Test func protocol4FramingAndParametersAreUnderstood() throws {
        // torch.save(..., pickle_protocol=4) style: FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL,
        // and a Parameter (_rebuild_parameter(tensor, requires_grad, hooks)).
        func short(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }
        var b: [UInt8] = [0x80, 4, 0x95] + [UInt8](repeating: 0, count: 8)
        b += short("torch._utils") + short("_rebuild_parameter") + [0x93, 0x94]
        b += short("torch._utils") + short("_rebuild_tensor_v2") + [0x93, 0x94]
        b += [0x28]  // MARK: args of _rebuild_tensor_v2
        b += [0x28] + short("storage") + short("torch") + short("HalfStorage") + [0x93] + short("7") + short("cpu") + [0x4B, 4, 0x74, 0x51]
        b += [0x4B, 1, 0x4B, 3, 0x85, 0x4B, 1, 0x85, 0x89]
        b += short("collections") + short("OrderedDict") + [0x93, 0x94, 0x29, 0x52]
        b += [0x74, 0x52]  // TUPLE, REDUCE → tensor
        b += [0x88, 0x68, 2, 0x29, 0x52, 0x87, 0x52, 0x2E]  // (tensor, True, memo[2]()) → _rebuild_parameter
        guard case .tensor(let tensor) = try load(b) else { Issue.record("expected a tensor"); return }
        #expect(tensor.storage.key == "7" && tensor.storage.dtype == .f16 && tensor.storage.count == 4)
        #expect(tensor.offset == 1 && tensor.shape == [3] && tensor.strides == [1])
    }
}
