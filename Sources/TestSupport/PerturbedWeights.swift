import Foundation
import Tensors
import VKQ

/// A weight provider that changes one tensor of a converted model: the sensitivity checks of the model,
/// pipeline, text-encoder and validation tests (a wrong model must fail the bound the right one passes).
public struct PerturbedWeights: WeightProvider {
    public let base: VKQWeights
    public let name: String
    public let change: @Sendable ([Float]) -> [Float]
    let storage = Storage()

    /// Throws when `base` has no tensor `name`: a misspelt name would otherwise change nothing, and the check
    /// that a wrong model fails would pass on the right one.
    public init(base: VKQWeights, name: String, change: @escaping @Sendable ([Float]) -> [Float]) throws {
        guard base.contains(name) else { throw NoSuchTensor(name: name, file: base.file.url.path) }
        (self.base, self.name, self.change) = (base, name, change)
    }

    public struct NoSuchTensor: Error, CustomStringConvertible {
        public let name: String, file: String
        public var description: String { "\(file): no tensor \(name) to perturb" }
    }

    final class Storage: @unchecked Sendable { var buffers: [UnsafeMutableRawBufferPointer] = []; deinit { buffers.forEach { $0.deallocate() } } }

    public var family: String { base.family }
    public var configJSON: Data { base.configJSON }
    public func contains(_ name: String) -> Bool { base.contains(name) }
    public func weightData(_ requested: String) throws -> WeightData {
        guard requested == name else { return try base.weightData(requested) }
        let record = try base.file.record(name)
        let values = change(try base.file.floats(name))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: values.count * 4, alignment: 64)
        values.withUnsafeBytes { buffer.copyMemory(from: $0) }
        storage.buffers.append(buffer)
        return WeightData(name: name, shape: Shape(record.shape), dtype: .f32, data: UnsafeRawBufferPointer(buffer), owner: storage)
    }
}
