/// The objects the safe unpickler can build: plain Python data, the few torch objects a state dict
/// holds, and nothing that could run code.
///
/// Lists and dicts are reference types because pickle mutates them after they are memoized
/// (`EMPTY_DICT, BINPUT, MARK, …, SETITEMS`): a later `BINGET` must see the filled object.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A global from the allow-list, not yet called (`module.name`).
    case global(PickleGlobal)
    /// `('storage', torch.<T>Storage, key, device, count)` after BINPERSID.
    case storage(PickleStorage)
    case tensor(PickleTensor)

    /// A short name of the kind, for error messages.
    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .global(let global): global.rawValue
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }
}

final class PickleList {
    var items: [PickleValue] = []
}

/// A dict in insertion order (every dict torch writes is an OrderedDict or keeps insertion order).
final class PickleDict {
    private(set) var keys: [PickleValue] = []
    private(set) var values: [PickleValue] = []
    private var positions: [String: Int] = [:]

    /// Keys are compared by their text when they are strings or ints (all a state dict uses);
    /// other keys are kept but never replace an earlier entry.
    func set(_ key: PickleValue, _ value: PickleValue) {
        let text: String? = switch key {
        case .string(let s): "s" + s
        case .int(let i): "i\(i)"
        default: nil
        }
        if let text, let position = positions[text] {
            values[position] = value
            return
        }
        if let text { positions[text] = keys.count }
        keys.append(key)
        values.append(value)
    }

    var entries: Zip2Sequence<[PickleValue], [PickleValue]> { zip(keys, values) }
}

/// The globals a checkpoint may name. Anything else (`os.system`, `builtins.eval`, …) is refused when
/// the GLOBAL opcode is read, before it could be called.
enum PickleGlobal: String, CaseIterable {
    case orderedDict = "collections.OrderedDict"
    case rebuildTensorV2 = "torch._utils._rebuild_tensor_v2"
    case rebuildParameter = "torch._utils._rebuild_parameter"
    case rebuildParameterWithState = "torch._utils._rebuild_parameter_with_state"
    case rebuildFromTypeV2 = "torch._tensor._rebuild_from_type_v2"
    // Type markers passed to _rebuild_from_type_v2; never called.
    case tensorType = "torch._tensor.Tensor"
    case parameterType = "torch.nn.parameter.Parameter"
    // Storage classes: only ever the second field of a persistent id.
    case floatStorage = "torch.FloatStorage"
    case halfStorage = "torch.HalfStorage"
    case bfloat16Storage = "torch.BFloat16Storage"
    case doubleStorage = "torch.DoubleStorage"
    case longStorage = "torch.LongStorage"
    case intStorage = "torch.IntStorage"
    case shortStorage = "torch.ShortStorage"
    case charStorage = "torch.CharStorage"
    case byteStorage = "torch.ByteStorage"
    case boolStorage = "torch.BoolStorage"

    /// The element type of a storage class; nil for the callables.
    var storageDType: SafetensorsDType? {
        switch self {
        case .floatStorage: .f32
        case .halfStorage: .f16
        case .bfloat16Storage: .bf16
        case .doubleStorage: .f64
        case .longStorage: .i64
        case .intStorage: .i32
        case .shortStorage: .i16
        case .charStorage: .i8
        case .byteStorage: .u8
        case .boolStorage: .bool
        default: nil
        }
    }
}

/// One untyped storage: the archive member `<root>/data/<key>` holding `count` elements of `dtype`.
struct PickleStorage {
    var dtype: SafetensorsDType
    var key: String
    var count: Int
}

/// A view into a storage, as `_rebuild_tensor_v2` describes it; offset and strides count elements.
struct PickleTensor {
    var storage: PickleStorage
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}
