import VKQ

/// One tensor the runtime expects in a converted file: canonical name, exact shape, recipe role.
public struct ExpectedTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var role: KeyMap.Role
}

extension KeyMap {
    /// Expands the templates for a config: `{blocks}.{i}` runs over `blocks.0…num_layers-1` and, for VACE,
    /// `vace_blocks.0…n-1` (n = vace_layers.count); `{k}` over the VACE blocks; `{qkvo}` and `{qk}` over
    /// those letters. Shape terms are integers, config fields, or `a*b` products of them.
    public func expectedTensors(config: JSONValue, vaceBlocks: Int) throws -> [ExpectedTensor] {
        let layers = config["num_layers"]?.intValue ?? 0
        var out: [ExpectedTensor] = []
        for template in tensors {
            if template.vace == true && vaceBlocks == 0 { continue }
            let shape = try template.shape.map { try evaluate($0, config: config, tensor: template.name) }
            var names = [template.name]
            names = expand(names, "{blocks}.{i}", (0 ..< layers).map { "blocks.\($0)" } + (0 ..< vaceBlocks).map { "vace_blocks.\($0)" })
            names = expand(names, "{k}", (0 ..< vaceBlocks).map(String.init))
            names = expand(names, "{qkvo}", ["q", "k", "v", "o"])
            names = expand(names, "{qk}", ["q", "k"])
            out += names.map { ExpectedTensor(name: $0, shape: shape, role: template.role) }
        }
        return out
    }

    private func expand(_ names: [String], _ placeholder: String, _ values: [String]) -> [String] {
        names.flatMap { name in name.contains(placeholder) ? values.map { name.replacingOccurrences(of: placeholder, with: $0) } : [name] }
    }

    private func evaluate(_ term: ShapeTerm, config: JSONValue, tensor: String) throws -> Int {
        switch term {
        case .literal(let value): return value
        case .expression(let text):
            return try text.split(separator: "*").reduce(1) { product, factor in
                let factor = factor.trimmingCharacters(in: .whitespaces)
                if let value = Int(factor) { return product * value }
                guard let value = config[factor]?.intValue else {
                    throw ConvertError.internalError("\(name): shape of \(tensor) needs config field '\(factor)'")
                }
                return product * value
            }
        }
    }
}
