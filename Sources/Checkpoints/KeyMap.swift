import Foundation
import VKQ

/// Namespace for the JSON key maps of `converters/`, embedded at build time by the EmbedKeyMaps plugin.
public enum EmbeddedKeyMaps {}

/// A checkpoint family's key map (one `converters/<name>.json`): how each known layout's tensor names
/// become the canonical (official) names, which tensors are dropped and why, and the canonical
/// tensor list with shapes written in terms of the config and a recipe role.
public struct KeyMap: Decodable, @unchecked Sendable {
    public struct Rename: Decodable, Sendable {
        public var from: String
        public var to: String
    }

    public struct Drop: Decodable, Sendable {
        public var pattern: String
        public var why: String
    }

    /// One canonical tensor, or a family of them through `{placeholders}` (see `expectedTensors`).
    public struct TensorTemplate: Decodable, Sendable {
        public var name: String
        /// Integers, config field names, or products like `6*dim`.
        public var shape: [ShapeTerm]
        public var role: Role
        /// Present only when the checkpoint has this feature (e.g. `vace`).
        public var only: String?
    }

    public enum ShapeTerm: Decodable, Sendable {
        case literal(Int)
        case expression(String)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int.self) { self = .literal(value) } else { self = .expression(try container.decode(String.self)) }
        }
    }

    /// How the recipe treats a tensor (see `Recipe`).
    public enum Role: String, Decodable, Sendable {
        /// Matrices of the big linear layers: follow `--precision`.
        case linear
        /// Matrices that are small and error-sensitive (embeddings, patch embedding, head): f16 unless f32 is asked.
        case sensitive
        /// Biases, norm weights, modulation tables: always f32 (a negligible share of the bytes).
        case small
        /// VAE convolutions: f16 unless f32 is asked.
        case conv
    }

    public var name: String
    public var about: String
    public var component: String
    public var strip_prefixes: [String]
    public var layouts: [String: [Rename]]
    public var drop: [Drop]
    public var tensors: [TensorTemplate]
    /// `layouts` with each pattern compiled once.
    private var compiled: [String: [(NSRegularExpression, String)]] = [:]

    enum CodingKeys: String, CodingKey { case name, about, component, strip_prefixes, layouts, drop, tensors }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        about = try c.decode(String.self, forKey: .about)
        component = try c.decode(String.self, forKey: .component)
        strip_prefixes = try c.decode([String].self, forKey: .strip_prefixes)
        layouts = try c.decode([String: [Rename]].self, forKey: .layouts)
        drop = try c.decode([Drop].self, forKey: .drop)
        tensors = try c.decode([TensorTemplate].self, forKey: .tensors)
        for (layout, rules) in layouts {
            compiled[layout] = try rules.map { (try NSRegularExpression(pattern: $0.from), $0.to) }
        }
    }

    /// The map named `name` (the file stem under converters/).
    public static func named(_ name: String) throws -> KeyMap {
        guard let entry = EmbeddedKeyMaps.all.first(where: { $0.file == name + ".json" }) else {
            throw ConvertError.internalError("no key map converters/\(name).json in this build")
        }
        do {
            return try JSONDecoder().decode(KeyMap.self, from: Data(entry.json.utf8))
        } catch {
            throw ConvertError.internalError("converters/\(name).json: \(error)")
        }
    }

    /// Strips the first matching container prefix (`model.diffusion_model.` and the like).
    public func stripPrefix(_ key: String) -> String {
        for prefix in strip_prefixes where key.hasPrefix(prefix) { return String(key.dropFirst(prefix.count)) }
        return key
    }

    /// The canonical name of `key` in `layout`: every rule of the layout is applied in order, each to the
    /// result of the previous one (like a chain of substring replacements). Whether the result is a
    /// tensor the family knows is decided against its expected tensor list.
    public func canonicalName(_ key: String, layout: String) throws -> String {
        guard let rules = compiled[layout] else { throw ConvertError.internalError("\(name): no layout '\(layout)'") }
        var name = key
        for (regex, template) in rules {
            let range = NSRange(name.startIndex..., in: name)
            name = regex.stringByReplacingMatches(in: name, range: range, withTemplate: template)
        }
        return name
    }

    /// The drop rule that matches a canonical name, if any.
    public func dropRule(_ key: String) -> Drop? {
        drop.first { key.range(of: $0.pattern, options: .regularExpression) != nil }
    }
}
