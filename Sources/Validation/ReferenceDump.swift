import Checkpoints
import Foundation
import Tensors

/// Why a validation could not run or could not be trusted: each names the file, tensor or flag, and the
/// expected against the actual value.
public struct ValidateError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A reference file for `vacekit validate`: the inputs of one run, its final output, and (for a
/// layer-by-layer dump of converters/reference/dump_reference.py) the tensor at each named point,
/// stored as `point.NAME`.
public struct ReferenceDump {
    public static let pointPrefix = "point."
    public let file: SafetensorsFile
    public var name: String { file.url.lastPathComponent }

    public init(url: URL) throws { file = try SafetensorsFile(url: url) }

    /// The point names of the dump (without the prefix), in file order.
    public var points: [String] {
        file.names.filter { $0.hasPrefix(Self.pointPrefix) }.map { String($0.dropFirst(Self.pointPrefix.count)) }
    }

    /// The output names dump_reference.py recorded in the metadata (`vacekit_dump`), if any.
    public var outputs: [String]? {
        guard let text = file.metadata["vacekit_dump"], let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return nil }
        return object["outputs"] as? [String]
    }

    /// True for a dump of dump_reference.py (named points); false for the older single-output references.
    public var isLayerDump: Bool { !points.isEmpty }

    public func contains(_ name: String) -> Bool { file.entry(name) != nil }

    public func shape(_ name: String) throws -> Shape {
        guard let entry = file.entry(name) else { throw ValidateError("\(name): no tensor '\(name)' in \(self.name)") }
        return Shape(entry.shape)
    }

    public func floats(_ name: String) throws -> [Float] {
        guard file.entry(name) != nil else { throw ValidateError("\(self.name): no tensor '\(name)'") }
        return try file.floats(name)
    }

    /// Tensor `name` on `backend`.
    public func tensor(_ name: String, on backend: any Backend) throws -> Tensor {
        try backend.tensor(try floats(name), try shape(name))
    }

    public func optionalTensor(_ name: String, on backend: any Backend) throws -> Tensor? {
        contains(name) ? try tensor(name, on: backend) : nil
    }

    /// The reference at point `name` (values and shape).
    public func point(_ name: String) throws -> (values: [Float], shape: Shape) {
        (try floats(Self.pointPrefix + name), try shape(Self.pointPrefix + name))
    }
}
