import Tensors

/// Collects the tensors a model taps, in execution order. A point tapped more than once (the VAEs run
/// chunk by chunk in time) is joined along axis 2, as dump_reference.py joins its hook calls.
final class PointRecorder {
    private(set) var order: [String] = []
    private var parts: [String: [(values: [Float], shape: Shape)]] = [:]
    let backend: any Backend

    init(backend: any Backend) { self.backend = backend }

    func record(_ name: String, _ value: Tensor) throws {
        if parts[name] == nil { order.append(name) }
        parts[name, default: []].append((try backend.floats(value), value.shape))
    }

    /// The tensor at `name`, its parts joined along axis 2.
    func value(_ name: String) throws -> (values: [Float], shape: Shape) {
        guard let list = parts[name], let first = list.first else { throw ValidateError("no tap at '\(name)'") }
        if list.count == 1 { return first }
        let dims = first.shape.dims
        guard dims.count >= 3, list.allSatisfy({ $0.shape.rank == dims.count && $0.shape.dims.enumerated().allSatisfy { $0.offset == 2 || $0.element == dims[$0.offset] } }) else {
            throw ValidateError("point \(name): tapped \(list.count) times with shapes \(list.map { $0.shape }) that do not join along axis 2")
        }
        let outer = dims[0] * dims[1], inner = dims[3...].reduce(1, *)
        var values: [Float] = []
        values.reserveCapacity(list.reduce(0) { $0 + $1.values.count })
        for o in 0 ..< outer {
            for part in list {
                let run = part.shape[2] * inner
                values.append(contentsOf: part.values[(o * run) ..< ((o + 1) * run)])
            }
        }
        var joined = dims
        joined[2] = list.reduce(0) { $0 + $1.shape[2] }
        return (values, Shape(joined))
    }
}
