/// Turns the object a `.pth` pickle builds into a flat list of named tensors.
///
/// Checkpoints come as a plain state dict (`{"blocks.0.q.weight": tensor, …}`, what Wan's VAE and umT5
/// files are), or wrapped by a training script (`{"state_dict": {…}, "epoch": 3}`, `{"model": {…}}`,
/// `{"module": {…}}`). A wrapper with no tensors of its own is unwrapped; whatever is left is
/// flattened with dotted names, so `{"a": {"b": t}}` gives `a.b`. Scalars found on the way become
/// metadata text; lists, tuples and other values are skipped (no torch.save of a module state
/// puts tensors in them).
enum PTHStateDict {
    struct Flattened {
        var tensors: [(name: String, tensor: PickleTensor)] = []
        var scalars: [String: String] = [:]
    }

    static let wrapperKeys = ["state_dict", "model", "module"]
    /// Nesting deeper than this is not a state dict.
    static let maxDepth = 16

    static func flatten(_ root: PickleValue) -> Flattened {
        var value = root
        for _ in 0 ..< maxDepth {  // bounded: `d = {"model": d}` is a legal pickle
            guard case .dict(let dict) = value, !dict.values.contains(where: \.isTensor),
                  let inner = wrapperKeys.lazy.compactMap({ dict.value(forKey: $0) }).first(where: \.isDict) else { break }
            value = inner
        }
        var result = Flattened()
        // A bare `torch.save(tensor)` has no name to give its tensor: not a checkpoint.
        guard value.isDict else { return result }
        var walk = Walk()
        flatten(value, prefix: "", depth: 0, into: &result, walk: &walk)
        return result
    }

    /// Names already given, and dicts already entered: a pickle can make a dict contain itself (or
    /// one dict appear under many keys), which must not loop or blow up; a real state dict never does.
    private struct Walk {
        var names = Set<String>()
        var dicts = Set<ObjectIdentifier>()
    }

    private static func flatten(_ value: PickleValue, prefix: String, depth: Int, into result: inout Flattened, walk: inout Walk) {
        switch value {
        case .tensor(let tensor):
            // The first of two equal names wins (`{"a.b": t, "a": {"b": u}}` is not a real checkpoint).
            if walk.names.insert(prefix).inserted { result.tensors.append((prefix, tensor)) }
        case .dict(let dict) where depth < maxDepth && walk.dicts.insert(ObjectIdentifier(dict)).inserted:
            for (key, item) in dict.entries {
                guard let text = key.keyText else { continue }
                flatten(item, prefix: prefix.isEmpty ? text : prefix + "." + text, depth: depth + 1, into: &result, walk: &walk)
            }
        case .int(let i): result.scalars[prefix] = String(i)
        case .float(let f): result.scalars[prefix] = String(f)
        case .bool(let b): result.scalars[prefix] = String(b)
        case .string(let s): result.scalars[prefix] = s
        default: break
        }
    }
}

extension PickleValue {
    var isTensor: Bool { if case .tensor = self { true } else { false } }
    var isDict: Bool { if case .dict = self { true } else { false } }

    /// A dict key as a name component (state dict keys are strings; ints appear in nested layer maps).
    var keyText: String? {
        switch self {
        case .string(let s): s
        case .int(let i): String(i)
        default: nil
        }
    }
}

extension PickleDict {
    func value(forKey key: String) -> PickleValue? {
        entries.first(where: { $0.0.keyText == key })?.1
    }
}
