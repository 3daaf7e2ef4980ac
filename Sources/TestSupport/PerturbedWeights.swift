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

    public init(base: VKQWeights, name: String, change: @escaping @Sendable ([Float]) -> [Float]) {
        (self.base, self.name, self.change) = (base, name, change)
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
