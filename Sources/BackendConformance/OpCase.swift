import Foundation
import Tensors
import VKQ

/// One row of the op table: builds random inputs (seeded), runs the op on a backend, and computes the
/// float64 reference from the same inputs. Shared by every backend's tests (the test-backend-ops idea).
public struct OpCase: Sendable, CustomStringConvertible {
    /// How a result is judged: layout ops move values (exact), math ops accumulate rounding, and
    /// matmuls with q8 or bf16 weights may also round activations (bf16 / int16 / int8 kernels).
    public enum Kind: Sendable { case layout, math, quantizedMatmul }

    public let name: String
    public let kind: Kind
    /// The output shape the op must return (written out by hand, not taken from `OpShapes`).
    public let shape: [Int]
    let run: @Sendable (any Backend, inout SeededRandom) throws -> (output: Tensor, expected: [Double])

    public var description: String { name }

    /// The one error metric of VaceKit (relative L2, max |Δ|, cosine; non-finite → ∞).
    public typealias Result = ErrorMetric

    /// Runs the case with `seed`, checks the output shape and compares with the float64 reference.
    public func evaluate(on backend: any Backend, seed: UInt64) throws -> Result {
        var random = SeededRandom(seed: seed)
        let (output, expected) = try run(backend, &random)
        guard output.shape.dims == shape else { throw TensorError(name, operand: "output", expected: "\(Shape(shape))", actual: "\(output.shape)") }
        return try ErrorMetric.compare(try backend.floats(output), expected, what: name)
    }
}

/// SplitMix64 → uniform [-1, 1); printed seeds reproduce a failing case.
public struct SeededRandom: Sendable {
    private var generator: SplitMix64
    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    public mutating func next() -> UInt64 { generator.next() }
    public mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
    public mutating func values(_ count: Int, scale: Float = 1) -> [Float] { (0 ..< count).map { _ in uniform() * scale } }
}

/// Weight bytes in memory of their own, alive for as long as a backend holds the weight.
final class ByteBox: @unchecked Sendable {
    let data: UnsafeRawBufferPointer
    let scales: UnsafeRawBufferPointer?
    init(_ data: [UInt8], _ scales: [UInt8]?) {
        self.data = Self.copy(data)
        self.scales = scales.map(Self.copy)
    }
    private static func copy(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        buffer.copyMemory(from: bytes.withUnsafeBytes { $0 })
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0 ..< bytes.count])
    }
    deinit {
        UnsafeMutableRawPointer(mutating: data.baseAddress)?.deallocate()
        if let scales { UnsafeMutableRawPointer(mutating: scales.baseAddress)?.deallocate() }
    }
}

extension OpCase {
    /// A weight of `shape` stored as `dtype`, and the exact values it holds (after rounding/quantization).
    static func weight(_ backend: any Backend, _ values: [Float], _ shape: [Int], _ dtype: DType) throws -> (Tensor, [Double]) {
        let encoded = try EncodedTensor.encode(name: "w", shape: shape, values: values, as: dtype)
        let box = ByteBox(encoded.data, encoded.scales)
        let stored: [Double]
        switch encoded.dtype {
        case .f32: stored = values.map(Double.init)
        case .f16: stored = values.map { Double(Float(Float16($0))) }
        case .bf16: stored = values.map { Double(Quantization.floatFromBF16(Quantization.bf16Bits($0))) }
        case .q8(let group):
            let (rows, columns) = VKQLayout.matrixShape(shape)
            stored = Quantization.dequantizeQ8(values: box.data.bindMemory(to: Int8.self), scales: box.scales!.bindMemory(to: Float16.self),
                                               rows: rows, columns: columns, group: group == 0 ? columns : group).map(Double.init)
        }
        let tensor = try backend.weight(WeightData(name: "w", shape: Shape(shape), dtype: encoded.dtype, data: box.data, scales: box.scales, owner: box))
        return (tensor, stored)
    }
}
