import Tensors

/// Rows of a stored weight decoded to f32 on the host (embedding lookups and small tables that the
/// model indexes itself rather than multiplying on the backend).
enum HostRows {
    /// Rows `rows` of a 2-D f32 / f16 / bf16 weight, row-major.
    static func floats(_ w: WeightData, rows: Range<Int>) throws -> [Float] {
        guard w.shape.rank == 2 else { throw TensorError("HostRows", "\(w.name) \(w.shape) is not a matrix") }
        let columns = w.shape[1]
        var out = [Float](repeating: 0, count: rows.count * columns)
        for (r, row) in rows.enumerated() { try decode(w, row: row, into: &out, at: r * columns) }
        return out
    }

    /// The rows `ids` of a 2-D weight, in order: `[ids.count, columns]`.
    static func gather(_ w: WeightData, ids: [Int32]) throws -> [Float] {
        guard w.shape.rank == 2 else { throw TensorError("HostRows", "\(w.name) \(w.shape) is not a matrix") }
        let columns = w.shape[1]
        var out = [Float](repeating: 0, count: ids.count * columns)
        for (r, id) in ids.enumerated() { try decode(w, row: Int(id), into: &out, at: r * columns) }
        return out
    }

    private static func decode(_ w: WeightData, row: Int, into out: inout [Float], at offset: Int) throws {
        let columns = w.shape[1]
        guard row >= 0, row < w.shape[0] else { throw TensorError("HostRows", "row \(row) of \(w.name) \(w.shape)") }
        switch w.dtype {
        case .f32:
            let p = w.data.baseAddress!.assumingMemoryBound(to: Float.self) + row * columns
            for j in 0 ..< columns { out[offset + j] = p[j] }
        case .f16:
            let p = w.data.baseAddress!.assumingMemoryBound(to: Float16.self) + row * columns
            for j in 0 ..< columns { out[offset + j] = Float(p[j]) }
        case .bf16:
            let p = w.data.baseAddress!.assumingMemoryBound(to: UInt16.self) + row * columns
            for j in 0 ..< columns { out[offset + j] = Float(bitPattern: UInt32(UInt16(littleEndian: p[j])) << 16) }
        case .q8:
            throw TensorError("HostRows", "\(w.name) is q8; embeddings and tables are stored f16/f32 (convert with the default recipe)")
        }
    }
}
