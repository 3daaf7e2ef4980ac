import Foundation
import Tensors

/// One wrong-shaped call of an op: every backend must refuse it before doing any work, with the error
/// of the op's rule in `OpShapes` (the same op, operand, expected and actual value on every backend).
public struct OpShapeCase: Sendable, CustomStringConvertible {
    public let name: String
    /// The op and operand the error must name.
    public let op: String
    public let operand: String
    let run: @Sendable (any Backend) throws -> Void

    public var description: String { name }

    /// The error the backend throws for this call (nil when it accepts it, which is a failure).
    public func error(on backend: any Backend) -> Error? {
        do { try run(backend); return nil } catch { return error }
    }
}

/// Wrong shapes for every op of the contract that has a shape rule (`unary` has none). Tiny sizes:
/// the Vulkan backend runs them on lavapipe.
public enum OpShapeTable {
    static func zeros(_ b: any Backend, _ dims: [Int]) throws -> Tensor { try b.tensor([Float](repeating: 0, count: dims.reduce(1, *)), Shape(dims)) }
    static func weight(_ b: any Backend, _ dims: [Int]) throws -> Tensor {
        try OpCase.weight(b, [Float](repeating: 0.5, count: dims.reduce(1, *)), dims, .f32).0
    }

    public static let cases: [OpShapeCase] = [
        OpShapeCase(name: "tensor: 5 values for [2, 3]", op: "tensor", operand: "values") { b in _ = try b.tensor([1, 2, 3, 4, 5], [2, 3]) },
        OpShapeCase(name: "linear: W [4, 5] for x [3, 6]", op: "linear", operand: "weight") { b in
            _ = try b.linear(try zeros(b, [3, 6]), try weight(b, [4, 5]), bias: nil)
        },
        OpShapeCase(name: "linear: bias [3] for N = 4", op: "linear", operand: "bias") { b in
            _ = try b.linear(try zeros(b, [3, 6]), try weight(b, [4, 6]), bias: try zeros(b, [3]))
        },
        OpShapeCase(name: "binary: [2, 3] + [4, 3]", op: "binary", operand: "b") { b in _ = try b.binary(.add, try zeros(b, [2, 3]), try zeros(b, [4, 3])) },
        OpShapeCase(name: "modulate: scale [3, 4] for x [2, 5, 4]", op: "modulate", operand: "scale") { b in
            _ = try b.modulate(try zeros(b, [2, 5, 4]), scale: try zeros(b, [3, 4]), shift: try zeros(b, [4]))
        },
        OpShapeCase(name: "modulate: shift [2, 5, 4, 1] of higher rank", op: "modulate", operand: "shift") { b in
            _ = try b.modulate(try zeros(b, [2, 5, 4]), scale: try zeros(b, [4]), shift: try zeros(b, [2, 5, 4, 1]))
        },
        OpShapeCase(name: "gatedResidual: gate [5] for x [2, 3, 4]", op: "gatedResidual", operand: "gate") { b in
            _ = try b.gatedResidual(try zeros(b, [2, 3, 4]), try zeros(b, [2, 3, 4]), gate: try zeros(b, [5]))
        },
        OpShapeCase(name: "gatedResidual: y wider than x", op: "gatedResidual", operand: "y") { b in
            _ = try b.gatedResidual(try zeros(b, [2, 3, 1]), try zeros(b, [2, 3, 4]), gate: try zeros(b, [1]))
        },
        OpShapeCase(name: "layerNorm: weight [6] for rows of 7", op: "layerNorm", operand: "weight") { b in
            _ = try b.layerNorm(try zeros(b, [2, 7]), weight: try zeros(b, [6]), bias: nil, eps: 1e-6)
        },
        OpShapeCase(name: "layerNorm: bias [8] for rows of 7", op: "layerNorm", operand: "bias") { b in
            _ = try b.layerNorm(try zeros(b, [2, 7]), weight: try zeros(b, [7]), bias: try zeros(b, [8]), eps: 1e-6)
        },
        OpShapeCase(name: "rmsNorm: weight [3] for rows of 4", op: "rmsNorm", operand: "weight") { b in
            _ = try b.rmsNorm(try zeros(b, [3, 4]), weight: try zeros(b, [3]), eps: 1e-6)
        },
        OpShapeCase(name: "modulatedLayerNorm: shift [3] for rows of 4", op: "modulatedLayerNorm", operand: "shift") { b in
            _ = try b.modulatedLayerNorm(try zeros(b, [2, 4]), scale: try zeros(b, [4]), shift: try zeros(b, [3]), eps: 1e-6)
        },
        OpShapeCase(name: "channelNorm: bias [5] for 6 channels", op: "channelNorm", operand: "bias") { b in
            _ = try b.channelNorm(.wanRMS, try zeros(b, [1, 6, 2, 2, 2]), weight: try zeros(b, [6]), bias: try zeros(b, [5]), eps: 1e-6)
        },
        OpShapeCase(name: "channelNorm: 4 groups for 6 channels", op: "channelNorm", operand: "groups") { b in
            _ = try b.channelNorm(.groupNorm(groups: 4), try zeros(b, [1, 6, 2, 2, 2]), weight: nil, bias: nil, eps: 1e-6)
        },
        OpShapeCase(name: "channelNorm: x [6] without a channel dim", op: "channelNorm", operand: "x") { b in
            _ = try b.channelNorm(.pixel, try zeros(b, [6]), weight: nil, bias: nil, eps: 1e-6)
        },
        OpShapeCase(name: "attention: v [1, 4, 8] for k [1, 3, 8]", op: "attention", operand: "v") { b in
            _ = try b.attention(q: try zeros(b, [1, 2, 8]), k: try zeros(b, [1, 3, 8]), v: try zeros(b, [1, 4, 8]), heads: 2, keyMask: nil)
        },
        OpShapeCase(name: "attention: 3 heads for width 8", op: "attention", operand: "heads") { b in
            _ = try b.attention(q: try zeros(b, [1, 2, 8]), k: try zeros(b, [1, 3, 8]), v: try zeros(b, [1, 3, 8]), heads: 3, keyMask: nil)
        },
        OpShapeCase(name: "attention: key mask [1, 2] for 3 keys", op: "attention", operand: "keyMask") { b in
            _ = try b.attention(q: try zeros(b, [1, 2, 8]), k: try zeros(b, [1, 3, 8]), v: try zeros(b, [1, 3, 8]), heads: 2, keyMask: try zeros(b, [1, 2]))
        },
        OpShapeCase(name: "attention: bias [1, 2, 2, 2] for 3 keys", op: "attention", operand: "bias") { b in
            _ = try b.attention(q: try zeros(b, [1, 2, 8]), k: try zeros(b, [1, 3, 8]), v: try zeros(b, [1, 3, 8]), heads: 2, keyMask: nil,
                                bias: try zeros(b, [1, 2, 2, 2]), scale: 1)
        },
        OpShapeCase(name: "rotary: empty tables [3, 0]", op: "rotary", operand: "cos") { b in
            _ = try b.rotary(try zeros(b, [1, 3, 8]), cos: try zeros(b, [3, 0]), sin: try zeros(b, [3, 0]))
        },
        OpShapeCase(name: "rotary: sin [3, 4] for cos [3, 2]", op: "rotary", operand: "sin") { b in
            _ = try b.rotary(try zeros(b, [1, 3, 8]), cos: try zeros(b, [3, 2]), sin: try zeros(b, [3, 4]))
        },
        OpShapeCase(name: "conv3d: weight of 3 input channels for x of 2", op: "conv3d", operand: "weight") { b in
            _ = try b.conv3d(try zeros(b, [1, 2, 2, 3, 3]), try weight(b, [4, 3, 1, 3, 3]), bias: nil, Conv3DOptions(padding: (1, 1)))
        },
        OpShapeCase(name: "conv3d: bias [3] for 4 outputs", op: "conv3d", operand: "bias") { b in
            _ = try b.conv3d(try zeros(b, [1, 2, 2, 3, 3]), try weight(b, [4, 2, 1, 3, 3]), bias: try zeros(b, [3]), Conv3DOptions(padding: (1, 1)))
        },
        OpShapeCase(name: "conv3d: stride 0", op: "conv3d", operand: "options") { b in
            _ = try b.conv3d(try zeros(b, [1, 2, 2, 3, 3]), try weight(b, [4, 2, 1, 3, 3]), bias: nil, Conv3DOptions(stride: (1, 0, 1), padding: (1, 1)))
        },
        OpShapeCase(name: "conv3d: x [1, 2, 2, 2, 2] smaller than a 3×3 kernel", op: "conv3d", operand: "x") { b in
            _ = try b.conv3d(try zeros(b, [1, 2, 2, 2, 2]), try weight(b, [4, 2, 1, 3, 3]), bias: nil, Conv3DOptions())
        },
        OpShapeCase(name: "reshape: [2, 3] to [4, 2]", op: "reshape", operand: "shape") { b in _ = try b.reshape(try zeros(b, [2, 3]), [4, 2]) },
        OpShapeCase(name: "reshape: [2, 3] to [-2, -3]", op: "reshape", operand: "shape") { b in _ = try b.reshape(try zeros(b, [2, 3]), [-2, -3]) },
        OpShapeCase(name: "permute: axes [0, 0, 1]", op: "permute", operand: "axes") { b in _ = try b.permute(try zeros(b, [2, 3, 4]), [0, 0, 1]) },
        OpShapeCase(name: "concat: [2, 3] and [3, 3] on axis 1", op: "concat", operand: "tensors[1]") { b in
            _ = try b.concat([try zeros(b, [2, 3]), try zeros(b, [3, 3])], axis: 1)
        },
        OpShapeCase(name: "concat: axis 2 of rank 2", op: "concat", operand: "axis") { b in _ = try b.concat([try zeros(b, [2, 3])], axis: 2) },
        OpShapeCase(name: "slice: 3..<12 of 10", op: "slice", operand: "range") { b in _ = try b.slice(try zeros(b, [3, 10]), axis: 1, 3 ..< 12) },
        OpShapeCase(name: "pad: before -1", op: "pad", operand: "before/after") { b in
            _ = try b.pad(try zeros(b, [2, 3]), axis: 1, before: -1, after: 0, mode: .zeros)
        },
        OpShapeCase(name: "pad: replicate an empty axis", op: "pad", operand: "x") { b in
            _ = try b.pad(try zeros(b, [2, 0]), axis: 1, before: 1, after: 1, mode: .replicate)
        },
        OpShapeCase(name: "interpolate: size [0, 2]", op: "interpolate", operand: "size") { b in
            _ = try b.interpolate(try zeros(b, [1, 1, 2, 2]), size: [0, 2], mode: .nearest)
        },
        OpShapeCase(name: "mean: axis 3 of rank 3", op: "mean", operand: "axis") { b in _ = try b.mean(try zeros(b, [2, 3, 4]), axis: 3) },
    ]
}
