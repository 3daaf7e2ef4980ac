import VKQ

/// One tensor the runtime expects in a converted file: canonical name, exact shape, recipe role.
public struct ExpectedTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var role: KeyMap.Role
}

extension KeyMap {
    /// Expands the templates: each `{placeholder}` runs over the values the family gives for it
    /// (`{blocks}` → `blocks.0`, … ; `{qkvo}` → q, k, v, o), shape terms are integers, `sizes` fields, or
    /// `a*b` products of them, and templates marked `only: X` are kept only when `features` holds X.
    public func expectedTensors(sizes: [String: Int], placeholders: [String: [String]], features: Set<String> = []) throws -> [ExpectedTensor] {
        let fixed: [String: [String]] = [
            "{qkvo}": ["q", "k", "v", "o"], "{qkv}": ["q", "k", "v"], "{qk}": ["q", "k"], "{kv}": ["k", "v"], "{attn}": ["attn1", "attn2"],
        ]
        let all = placeholders.merging(fixed) { given, _ in given }
        var out: [ExpectedTensor] = []
        for template in tensors {
            if let feature = template.only, !features.contains(feature) { continue }
            let shape = try template.shape.map { try evaluate($0, sizes: sizes, tensor: template.name) }
            var names = [template.name]
            for (placeholder, values) in all.sorted(by: { $0.key < $1.key }) {
                names = names.flatMap { name in
                    name.contains(placeholder) ? values.map { name.replacingOccurrences(of: placeholder, with: $0) } : [name]
                }
            }
            if let unexpanded = names.first(where: { $0.contains("{") }) {
                throw ConvertError.internalError("\(name): no values for a placeholder in \(unexpanded)")
            }
            out += names.map { ExpectedTensor(name: $0, shape: shape, role: template.role) }
        }
        return out
    }

    private func evaluate(_ term: ShapeTerm, sizes: [String: Int], tensor: String) throws -> Int {
        switch term {
        case .literal(let value): return value
        case .expression(let text):
            return try text.split(separator: "*").reduce(1) { product, factor in
                let factor = factor.trimmingCharacters(in: .whitespaces)
                if let value = Int(factor) { return product * value }
                guard let value = sizes[factor] else {
                    throw ConvertError.internalError("\(name): shape of \(tensor) needs size '\(factor)'")
                }
                return product * value
            }
        }
    }
}
