import Tensors

/// Weight bytes for tests, owned by this object (a `WeightData` keeps it as its owner).
final class WeightBytes: @unchecked Sendable {
    let data: UnsafeRawBufferPointer
    let scales: UnsafeRawBufferPointer?
    let shape: Shape
    let dtype: DType
    /// The values the weight holds after rounding or quantization.
    let values: [Float]

    /// `values` of `shape` stored as f32, f16 or q8 (symmetric int8, one f16 scale per `group`
    /// columns of each row; group 0: per row).
    init(_ values: [Float], _ shape: Shape, as dtype: DType) {
        self.shape = shape
        self.dtype = dtype
        let columns = shape.dims.dropFirst().reduce(1, *)
        switch dtype {
        case .f32:
            data = Self.copy(values.withUnsafeBytes { Array($0) })
            scales = nil
            self.values = values
        case .f16:
            let halves = values.map(Float16.init)
            data = Self.copy(halves.withUnsafeBytes { Array($0) })
            scales = nil
            self.values = halves.map(Float.init)
        case .bf16:
            let words = values.map { UInt16($0.bitPattern >> 16) }
            data = Self.copy(words.withUnsafeBytes { Array($0) })
            scales = nil
            self.values = words.map { Float(bitPattern: UInt32($0) << 16) }
        case .q8(let requested):
            let group = requested == 0 ? columns : requested
            var q = [Int8](repeating: 0, count: values.count), s: [Float16] = [], dequantized = [Float](repeating: 0, count: values.count)
            for start in stride(from: 0, to: values.count, by: group) {
                let block = start ..< min(values.count, start + group)
                let top = block.map { abs(values[$0]) }.max() ?? 0
                let scale = Float16(top > 0 ? top / 127 : 1)
                s.append(scale)
                for i in block {
                    q[i] = Int8(max(-127, min(127, (values[i] / Float(scale)).rounded())))
                    dequantized[i] = Float(q[i]) * Float(scale)
                }
            }
            data = Self.copy(q.withUnsafeBytes { Array($0) })
            scales = Self.copy(s.withUnsafeBytes { Array($0) })
            self.values = dequantized
        }
    }

    var weightData: WeightData {
        WeightData(name: "test", shape: shape, dtype: dtype, data: data, scales: scales, owner: self)
    }

    private static func copy(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0 ..< bytes.count])
    }

    deinit {
        UnsafeMutableRawPointer(mutating: data.baseAddress)?.deallocate()
        if let scales { UnsafeMutableRawPointer(mutating: scales.baseAddress)?.deallocate() }
    }
}
