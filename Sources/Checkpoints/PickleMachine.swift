import Foundation

/// A pickle interpreter that executes nothing: it understands the opcodes torch.save emits for a
/// state dict (protocol 2, plus the protocol-4 framing and memo opcodes) and builds `PickleValue`s.
///
/// Python's unpickler turns `GLOBAL` + `REDUCE` into "import this and call it", which is how a
/// malicious checkpoint runs code. Here a `GLOBAL` must be one of `PickleGlobal`'s allow-list or
/// loading stops at once, and `REDUCE` only interprets those few callables itself.
struct PickleMachine {
    private let bytes: UnsafeRawBufferPointer
    private let url: URL
    private var position = 0
    /// Where the current opcode started, for error messages.
    private var opcodeStart = 0
    private var stack: [PickleValue] = []
    /// Stack heights at each MARK.
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// Unpickles `bytes` (the `data.pkl` member of `url`) and returns the object STOP leaves.
    static func load(_ bytes: UnsafeRawBufferPointer, url: URL) throws -> PickleValue {
        var machine = PickleMachine(bytes: bytes, url: url)
        return try machine.run()
    }

    private init(bytes: UnsafeRawBufferPointer, url: URL) {
        self.bytes = bytes
        self.url = url
    }

    private mutating func run() throws -> PickleValue {
        while true {
            opcodeStart = position
            let opcode = try byte()
            switch opcode {
            case 0x80: // PROTO
                let version = try byte()
                guard version <= 5 else { throw fail("pickle protocol \(version) is newer than any Python writes") }
            case 0x95: // FRAME: a length prefix for buffered reading; the content follows inline.
                _ = try take(8)
            case 0x2E: // STOP
                guard marks.isEmpty else { throw fail("STOP inside an unclosed MARK") }
                return try pop()
            case 0x4E: stack.append(.none)         // NONE
            case 0x88: stack.append(.bool(true))   // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4B: stack.append(.int(Int(try byte())))  // BININT1
            case 0x4D: stack.append(.int(Int(try unsigned(2))))  // BININT2
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try unsigned(4)))))  // BININT
            case 0x8A: stack.append(.int(try longInteger(Int(try byte()))))  // LONG1
            case 0x8B: stack.append(.int(try longInteger(try length(4))))  // LONG4
            case 0x47: // BINFLOAT: the one big-endian field in pickle.
                let raw = try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                stack.append(.float(Double(bitPattern: raw)))
            case 0x58: stack.append(.string(try text(length(4))))  // BINUNICODE
            case 0x8C: stack.append(.string(try text(Int(byte()))))  // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try text(length(8))))  // BINUNICODE8
            case 0x55: stack.append(.string(try text(Int(byte()))))  // SHORT_BINSTRING (Python 2 str)
            case 0x54: stack.append(.string(try text(length(4))))  // BINSTRING
            case 0x43: stack.append(.bytes(try take(Int(byte()))))  // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(try take(length(4))))  // BINBYTES
            case 0x28: marks.append(stack.count)  // MARK
            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark()))  // TUPLE
            case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
                let count = Int(opcode - 0x84)
                guard stack.count - (marks.last ?? 0) >= count else { throw fail("TUPLE\(count) needs \(count) items on the stack") }
                let items = Array(stack.suffix(count))
                stack.removeLast(count)
                stack.append(.tuple(items))
            case 0x5D: stack.append(.list(PickleList()))  // EMPTY_LIST
            case 0x7D: stack.append(.dict(PickleDict()))  // EMPTY_DICT
            case 0x61: // APPEND
                let item = try pop()
                try topList().items.append(item)
            case 0x65: // APPENDS
                let items = try popMark()
                try topList().items.append(contentsOf: items)
            case 0x73: // SETITEM
                let value = try pop(), key = try pop()
                try topDict().set(key, value)
            case 0x75: // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number (\(items.count)) of keys and values") }
                let dict = try topDict()
                for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
            case 0x62: // BUILD: sets attributes (a state dict's `_metadata`); nothing here needs them.
                _ = try pop()
                guard !stack.isEmpty else { throw fail("BUILD with nothing to build") }
            case 0x52: // REDUCE
                let arguments = try pop(), callable = try pop()
                guard case .tuple(let args) = arguments else { throw fail("REDUCE arguments are a \(arguments.kind), not a tuple") }
                guard case .global(let global) = callable else { throw fail("REDUCE on a \(callable.kind), which is not callable") }
                stack.append(try call(global, args))
            case 0x51: // BINPERSID: torch's reference to a storage in `data/<key>`.
                stack.append(try persistentLoad(pop()))
            case 0x63: // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(.global(try resolve(module, name)))
            case 0x93: // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let n) = name, case .string(let m) = module else { throw fail("STACK_GLOBAL needs two strings") }
                stack.append(.global(try resolve(m, n)))
            case 0x71: try put(Int(byte()))  // BINPUT
            case 0x72: try put(length(4))  // LONG_BINPUT
            case 0x94: try put(memo.count)  // MEMOIZE
            case 0x68: try get(Int(byte()))  // BINGET
            case 0x6A: try get(length(4))  // LONG_BINGET
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popMark()  // POP_MARK
            case 0x32: // DUP
                guard let top = stack.last else { throw fail("DUP on an empty stack") }
                stack.append(top)
            default:
                throw PTHError.unsupportedOpcode(url, opcode: opcode, offset: opcodeStart)
            }
        }
    }

    // MARK: Calls: the only code the pickle can reach.

    private func resolve(_ module: String, _ name: String) throws -> PickleGlobal {
        guard let global = PickleGlobal(rawValue: module + "." + name) else { throw PTHError.forbiddenGlobal(url, module + "." + name) }
        return global
    }

    private func call(_ global: PickleGlobal, _ args: [PickleValue]) throws -> PickleValue {
        switch global {
        case .orderedDict:
            // OrderedDict() or OrderedDict([(key, value), …]).
            let dict = PickleDict()
            if let first = args.first {
                let pairs: [PickleValue] = switch first {
                case .list(let list): list.items
                case .tuple(let items): items
                default: throw fail("OrderedDict(\(first.kind)) is not a list of pairs")
                }
                for pair in pairs {
                    guard case .tuple(let kv) = pair, kv.count == 2 else { throw fail("OrderedDict item is not a (key, value) pair") }
                    dict.set(kv[0], kv[1])
                }
            }
            return .dict(dict)
        case .rebuildTensorV2:
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1] else {
                throw fail("_rebuild_tensor_v2 expects (storage, offset, size, stride, …), got (\(args.map(\.kind).joined(separator: ", ")))")
            }
            let shape = try integers(args[2], "size"), strides = try integers(args[3], "stride")
            return .tensor(PickleTensor(storage: storage, offset: offset, shape: shape, strides: strides))
        case .rebuildParameter, .rebuildParameterWithState:
            // (tensor, requires_grad, backward_hooks[, state]): a Parameter is just its tensor here.
            guard let first = args.first, case .tensor = first else { throw fail("\(global.rawValue) expects a tensor first") }
            return first
        case .rebuildFromTypeV2:
            // (func, new_type, args, state): call func(*args) and drop the subclass.
            guard args.count >= 3, case .global(let function) = args[0], function != .rebuildFromTypeV2,
                  case .tuple(let inner) = args[2] else {
                throw fail("_rebuild_from_type_v2 expects (function, type, args, state)")
            }
            return try call(function, inner)
        default:
            throw fail("\(global.rawValue) is not callable")
        }
    }

    /// `('storage', torch.<T>Storage, key, location, element count)`.
    private func persistentLoad(_ id: PickleValue) throws -> PickleValue {
        guard case .tuple(let fields) = id, fields.count >= 5, case .string("storage") = fields[0] else {
            throw fail("persistent id \(id.kind) is not a ('storage', type, key, location, count) tuple")
        }
        guard case .global(let type) = fields[1], let dtype = type.storageDType else {
            throw fail("persistent id names \(fields[1].kind), not a torch storage type")
        }
        guard case .string(let key) = fields[2], case .int(let count) = fields[4], count >= 0 else {
            throw fail("persistent id key/count are \(fields[2].kind)/\(fields[4].kind), not str/int")
        }
        return .storage(PickleStorage(dtype: dtype, key: key, count: count))
    }

    private func integers(_ value: PickleValue, _ what: String) throws -> [Int] {
        guard case .tuple(let items) = value else { throw fail("tensor \(what) is a \(value.kind), not a tuple") }
        return try items.map {
            guard case .int(let i) = $0 else { throw fail("tensor \(what) holds a \($0.kind), not an int") }
            return i
        }
    }

    // MARK: Stack and memo

    private mutating func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let value = stack.popLast() else { throw fail("stack underflow") }
        return value
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("no MARK to close") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func topList() throws -> PickleList {
        guard case .list(let list) = stack.last else { throw fail("APPEND to a \(stack.last?.kind ?? "empty stack"), not a list") }
        return list
    }

    private func topDict() throws -> PickleDict {
        guard case .dict(let dict) = stack.last else { throw fail("SETITEM on a \(stack.last?.kind ?? "empty stack"), not a dict") }
        return dict
    }

    private mutating func put(_ index: Int) throws {
        guard let top = stack.last else { throw fail("memo PUT on an empty stack") }
        memo[index] = top
    }

    private mutating func get(_ index: Int) throws {
        guard let value = memo[index] else { throw fail("memo GET \(index) of an entry never PUT") }
        stack.append(value)
    }

    // MARK: Reading operands

    private func fail(_ reason: String) -> PTHError {
        PTHError.malformedPickle(url, offset: opcodeStart, reason)
    }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("data.pkl ends without STOP (truncated?)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= bytes.count - position else { throw fail("operand of \(count) bytes runs past the end of data.pkl (truncated?)") }
        defer { position += count }
        return Array(bytes[position ..< position + count])
    }

    private mutating func unsigned(_ count: Int) throws -> UInt64 {
        try take(count).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// A little-endian length field; anything longer than the pickle itself is corrupt.
    private mutating func length(_ count: Int) throws -> Int {
        let value = try unsigned(count)
        guard value <= UInt64(bytes.count) else { throw fail("length \(value) runs past the end of data.pkl (truncated?)") }
        return Int(value)
    }

    /// LONG1/LONG4: little-endian two's complement of `count` bytes; shapes and offsets fit in 64 bits.
    private mutating func longInteger(_ count: Int) throws -> Int {
        guard count <= 8 else { throw fail("integer of \(count) bytes does not fit in 64 bits") }
        let raw = try take(count)
        guard !raw.isEmpty else { return 0 }
        var value = raw.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if count < 8, raw.last! & 0x80 != 0 { value |= ~UInt64(0) << UInt64(count * 8) }  // sign-extend
        return Int(Int64(bitPattern: value))
    }

    private mutating func text(_ count: Int) throws -> String {
        String(decoding: try take(count), as: UTF8.self)
    }

    /// A GLOBAL operand: text up to a newline (module and attribute names are short).
    private mutating func line() throws -> String {
        var bytes = [UInt8]()
        while true {
            let next = try byte()
            if next == 0x0A { return String(decoding: bytes, as: UTF8.self) }
            guard bytes.count < 256 else { throw fail("GLOBAL name longer than 256 bytes") }
            bytes.append(next)
        }
    }
}
