import Foundation
import Tensors

/// The op table: every op of the contract × weight dtypes × odd shapes (1-row, tails that are not
/// multiples of any tile size). Sizes stay small: the Vulkan backend runs it on lavapipe in CI.
public enum OpTable {
    public static let cases: [OpCase] = linear + elementwise + norms + attention + biasedAttention + rotary + conv + layout

    static func doubles(_ v: [Float]) -> [Double] { v.map(Double.init) }

    // MARK: linear × weight dtypes × shapes
    static let linear: [OpCase] = {
        let dtypes: [DType] = [.f32, .f16, .bf16, .q8(group: 0), .q8(group: 32)]
        let shapes = [(1, 64, 17), (7, 96, 33), (33, 128, 65), (130, 64, 48)]  // (M, K, N)
        return dtypes.flatMap { dtype in
            shapes.map { m, k, n in
                OpCase(name: "linear \(dtype) \(m)×\(k)→\(n)", kind: dtype.isQuantized || dtype == .bf16 ? .quantizedMatmul : .math, shape: [m, n]) { backend, random in
                    let x = random.values(m * k), w = random.values(n * k, scale: 0.2), b = random.values(n)
                    let (weight, stored) = try OpCase.weight(backend, w, [n, k], dtype)
                    let out = try backend.linear(try backend.tensor(x, [m, k]), weight, bias: try backend.tensor(b, [n]))
                    return (out, Reference.linear(doubles(x), m: m, k: k, stored, n: n, bias: doubles(b)))
                }
            }
        }
    }()

    // MARK: elementwise with broadcasting
    static func broadcastCase(_ name: String, _ a: [Int], _ b: [Int], _ op: BinaryOp, _ f: @escaping @Sendable (Double, Double) -> Double) -> OpCase {
        OpCase(name: "\(name) \(a)∘\(b)", kind: .math, shape: zip(a, b).map(max)) { backend, random in
            let target = zip(a, b).map(max)
            let x = random.values(a.reduce(1, *)), y = random.values(b.reduce(1, *)).map { op == .div ? $0 + 3 : $0 }
            let out = try backend.binary(op, try backend.tensor(x, Shape(a)), try backend.tensor(y, Shape(b)))
            let count = target.reduce(1, *)
            let expected = (0 ..< count).map { i in
                f(Double(x[Reference.broadcastIndex(i, target: target, shape: a)]), Double(y[Reference.broadcastIndex(i, target: target, shape: b)]))
            }
            return (out, expected)
        }
    }

    static let elementwise: [OpCase] = [
        broadcastCase("add", [2, 7, 33], [2, 7, 33], .add, +),
        broadcastCase("sub", [2, 7, 33], [1, 1, 33], .sub, -),
        broadcastCase("mul", [3, 5, 1], [3, 1, 17], .mul, *),
        broadcastCase("div", [1, 9], [4, 9], .div, /),
        OpCase(name: "modulate [2,11,24] by [2,1,24]", kind: .math, shape: [2, 11, 24]) { backend, random in
            let x = random.values(2 * 11 * 24), s = random.values(48), t = random.values(48)
            let out = try backend.modulate(try backend.tensor(x, [2, 11, 24]), scale: try backend.tensor(s, [2, 1, 24]), shift: try backend.tensor(t, [2, 1, 24]))
            let expected = (0 ..< x.count).map { i -> Double in
                let j = (i / (11 * 24)) * 24 + i % 24
                return Double(x[i]) * (1 + Double(s[j])) + Double(t[j])
            }
            return (out, expected)
        },
        OpCase(name: "gatedResidual [1,13,20] gate [20]", kind: .math, shape: [1, 13, 20]) { backend, random in
            let x = random.values(260), y = random.values(260), g = random.values(20)
            let out = try backend.gatedResidual(try backend.tensor(x, [1, 13, 20]), try backend.tensor(y, [1, 13, 20]), gate: try backend.tensor(g, [20]))
            return (out, (0 ..< 260).map { Double(x[$0]) + Double(g[$0 % 20]) * Double(y[$0]) })
        },
    ] + [(UnaryOp.geluTanh, "geluTanh"), (.gelu, "gelu"), (.silu, "silu"), (.scale(-2.5), "scale"), (.clamp(-0.3, 0.4), "clamp")].map { op, name in
        OpCase(name: "\(name) [3,37]", kind: .math, shape: [3, 37]) { backend, random in
            let x = random.values(111, scale: 3)
            let out = try backend.unary(op, try backend.tensor(x, [3, 37]))
            let expected: [Double] = x.map { Double($0) }.map { v in
                switch op {
                case .geluTanh: 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
                case .gelu: 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
                case .silu: v / (1 + exp(-v))
                case .scale(let s): v * Double(s)
                case .clamp(let lo, let hi): min(max(v, Double(lo)), Double(hi))
                }
            }
            return (out, expected)
        }
    }

    // MARK: norms (odd widths, 1 row, rows wider than a workgroup of 64 or 256 invocations)
    public static let norms: [OpCase] = [
        OpCase(name: "layerNorm [5,37] no affine", kind: .math, shape: [5, 37]) { backend, random in
            let x = random.values(185, scale: 2).map { $0 + 0.7 }
            let out = try backend.layerNorm(try backend.tensor(x, [5, 37]), weight: nil, bias: nil, eps: 1e-6)
            return (out, Reference.rowNorm(doubles(x), width: 37, rms: false, weight: nil, bias: nil, eps: 1e-6))
        },
        OpCase(name: "layerNorm [2,3,64] affine", kind: .math, shape: [2, 3, 64]) { backend, random in
            let x = random.values(384), w = random.values(64), b = random.values(64)
            let out = try backend.layerNorm(try backend.tensor(x, [2, 3, 64]), weight: try backend.tensor(w, [64]), bias: try backend.tensor(b, [64]), eps: 1e-5)
            return (out, Reference.rowNorm(doubles(x), width: 64, rms: false, weight: doubles(w), bias: doubles(b), eps: 1e-5))
        },
        OpCase(name: "rmsNorm [9,96] across heads, weight", kind: .math, shape: [9, 96]) { backend, random in
            let x = random.values(864), w = random.values(96)
            let out = try backend.rmsNorm(try backend.tensor(x, [9, 96]), weight: try backend.tensor(w, [96]), eps: 1e-6)
            return (out, Reference.rowNorm(doubles(x), width: 96, rms: true, weight: doubles(w), bias: nil, eps: 1e-6))
        },
        OpCase(name: "rmsNorm [1,7] no weight", kind: .math, shape: [1, 7]) { backend, random in
            let x = random.values(7)
            return (try backend.rmsNorm(try backend.tensor(x, [1, 7]), weight: nil, eps: 1e-5),
                    Reference.rowNorm(doubles(x), width: 7, rms: true, weight: nil, bias: nil, eps: 1e-5))
        },
        OpCase(name: "layerNorm [2,1029] affine", kind: .math, shape: [2, 1029]) { backend, random in
            let x = random.values(2058, scale: 3).map { $0 - 1.5 }, w = random.values(1029), b = random.values(1029)
            let out = try backend.layerNorm(try backend.tensor(x, [2, 1029]), weight: try backend.tensor(w, [1029]), bias: try backend.tensor(b, [1029]), eps: 1e-6)
            return (out, Reference.rowNorm(doubles(x), width: 1029, rms: false, weight: doubles(w), bias: doubles(b), eps: 1e-6))
        },
        OpCase(name: "rmsNorm [3,301] weight", kind: .math, shape: [3, 301]) { backend, random in
            let x = random.values(903), w = random.values(301)
            let out = try backend.rmsNorm(try backend.tensor(x, [3, 301]), weight: try backend.tensor(w, [301]), eps: 1e-6)
            return (out, Reference.rowNorm(doubles(x), width: 301, rms: true, weight: doubles(w), bias: nil, eps: 1e-6))
        },
        modulatedNormCase([2, 13, 37], scale: [2, 1, 37], shift: [2, 1, 37], "Wan's rows per batch item"),
        modulatedNormCase([1, 300], scale: [300], shift: [300], "1 row"),
        modulatedNormCase([3, 4, 1029], scale: [3, 1, 1029], shift: [1029], "wide rows"),
        modulatedNormCase([2, 7, 24], scale: [2, 7, 1], shift: [2, 7, 24], "a scale per row"),
        modulatedNormCase([4, 1], scale: [4, 1], shift: [1], "rows of 1"),
        modulatedNormCase([2, 3, 4, 9], scale: [2, 1, 4, 9], shift: [1, 3, 1, 9], "broadcast over two runs of dims"),
    ] + ([ChannelNorm.groupNorm(groups: 3), .wanRMS, .pixel].map { ($0, [2, 6, 3, 5, 7]) }
         + [ChannelNorm.wanRMS, .pixel].map { ($0, [2, 6, 3, 9, 11]) }).map { kind, shape in   // 297 positions: more than one block of 256
        OpCase(name: "channelNorm \(kind) \(shape)", kind: .math, shape: shape) { backend, random in
            let spatial = shape[2] * shape[3] * shape[4]
            let x = random.values(shape.reduce(1, *), scale: 2), w = random.values(6), b = random.values(6)
            let useBias = kind != .pixel
            let out = try backend.channelNorm(kind, try backend.tensor(x, Shape(shape)), weight: try backend.tensor(w, [6]),
                                              bias: useBias ? try backend.tensor(b, [6]) : nil, eps: 1e-6)
            var expected = [Double](repeating: 0, count: x.count)
            for batch in 0 ..< 2 {
                switch kind {
                case .groupNorm(let groups):
                    let per = 6 / groups
                    for g in 0 ..< groups {
                        let start = (batch * 6 + g * per) * spatial, n = per * spatial
                        let slice = (start ..< start + n).map { Double(x[$0]) }
                        let mean = slice.reduce(0, +) / Double(n)
                        let variance = slice.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
                        for i in 0 ..< n {
                            let c = g * per + i / spatial
                            expected[start + i] = (slice[i] - mean) / (variance + 1e-6).squareRoot() * Double(w[c]) + Double(b[c])
                        }
                    }
                case .wanRMS, .pixel:
                    for position in 0 ..< spatial {
                        let column = (0 ..< 6).map { Double(x[(batch * 6 + $0) * spatial + position]) }
                        let square = column.reduce(0) { $0 + $1 * $1 }
                        let factor = kind == .pixel ? 1 / (square / 6 + 1e-6).squareRoot() : 6.0.squareRoot() / max(square.squareRoot(), 1e-12)
                        for c in 0 ..< 6 {
                            expected[(batch * 6 + c) * spatial + position] = column[c] * factor * Double(w[c]) + (useBias ? Double(b[c]) : 0)
                        }
                    }
                }
            }
            return (out, expected)
        }
    }

    /// LayerNorm without affine, then x · (1 + scale) + shift with scale and shift broadcast against x (which
    /// is offset from 0, so the mean matters); the reference is the float64 LayerNorm, then the modulation.
    static func modulatedNormCase(_ shape: [Int], scale: [Int], shift: [Int], _ note: String) -> OpCase {
        OpCase(name: "modulatedLayerNorm \(shape) scale \(scale) shift \(shift) (\(note))", kind: .math, shape: shape) { backend, random in
            let x = random.values(shape.reduce(1, *), scale: 2).map { $0 + 0.7 }
            let s = random.values(scale.reduce(1, *)), t = random.values(shift.reduce(1, *))
            let out = try backend.modulatedLayerNorm(try backend.tensor(x, Shape(shape)), scale: try backend.tensor(s, Shape(scale)),
                                                     shift: try backend.tensor(t, Shape(shift)), eps: 1e-6)
            let normed = Reference.rowNorm(doubles(x), width: shape.last!, rms: false, weight: nil, bias: nil, eps: 1e-6)
            let expected = normed.indices.map { i in
                normed[i] * (1 + Double(s[Reference.broadcastIndex(i, target: shape, shape: scale)]))
                    + Double(t[Reference.broadcastIndex(i, target: shape, shape: shift)])
            }
            guard out.shape.dims == shape else { throw TensorError("modulatedLayerNorm", "shape \(out.shape), expected \(shape)") }
            return (out, expected)
        }
    }

    // MARK: attention (with and without key mask; tails in both token counts)
    static let attention: [OpCase] = [(1, 1, 5, 2, 16, false), (2, 37, 19, 3, 8, false), (1, 130, 600, 2, 32, false), (2, 9, 23, 2, 16, true)].map {
        batches, nq, nk, heads, d, masked in
        OpCase(name: "attention B\(batches) \(nq)×\(nk) \(heads)h×\(d)\(masked ? " key mask" : "")", kind: .math, shape: [batches, nq, heads * d]) { backend, random in
            let width = heads * d
            let q = random.values(batches * nq * width), k = random.values(batches * nk * width), v = random.values(batches * nk * width)
            // Mask: batch 0 keeps the first 15 keys, batch 1 every other key.
            let mask: [Float]? = masked ? (0 ..< batches * nk).map { i in (i / nk == 0 ? i % nk < 15 : i % 2 == 0) ? 1 : 0 } : nil
            let out = try backend.attention(q: try backend.tensor(q, [batches, nq, width]), k: try backend.tensor(k, [batches, nk, width]),
                                            v: try backend.tensor(v, [batches, nk, width]), heads: heads,
                                            keyMask: try mask.map { try backend.tensor($0, [batches, nk]) })
            return (out, Reference.attention(q: doubles(q), k: doubles(k), v: doubles(v), batches: batches, nq: nq, nk: nk,
                                                                 width: width, heads: heads, mask: mask.map(doubles)))
        }
    }

    // MARK: attention with an additive bias and an explicit scale (T5: scale 1, relative-position bias)
    // (batches, nq, nk, heads, d, bias per batch item, key mask, scale)
    static let biasedAttention: [OpCase] = [(1, 7, 7, 2, 16, false, false, Float(1)), (2, 37, 37, 3, 8, true, true, 1),
                                            (2, 21, 600, 2, 32, false, true, 0.5)].map {
        batches, nq, nk, heads, d, perBatch, masked, scale in
        OpCase(name: "attention+bias B\(batches) \(nq)×\(nk) \(heads)h×\(d)\(perBatch ? " bias per batch" : "")\(masked ? " key mask" : "") scale \(scale)",
               kind: .math, shape: [batches, nq, heads * d]) { backend, random in
            let width = heads * d
            let q = random.values(batches * nq * width), k = random.values(batches * nk * width), v = random.values(batches * nk * width)
            let biasBatches = perBatch ? batches : 1
            let bias = random.values(biasBatches * heads * nq * nk, scale: 4)
            let mask: [Float]? = masked ? (0 ..< batches * nk).map { i in (i / nk == 0 ? i % nk < 15 : i % 2 == 0) ? 1 : 0 } : nil
            let out = try backend.attention(q: try backend.tensor(q, [batches, nq, width]), k: try backend.tensor(k, [batches, nk, width]),
                                            v: try backend.tensor(v, [batches, nk, width]), heads: heads,
                                            keyMask: try mask.map { try backend.tensor($0, [batches, nk]) },
                                            bias: try backend.tensor(bias, [biasBatches, heads, nq, nk]), scale: scale)
            return (out, Reference.attention(q: doubles(q), k: doubles(k), v: doubles(v), batches: batches, nq: nq, nk: nk,
                                                                 width: width, heads: heads, mask: mask.map(doubles),
                                                                 bias: doubles(bias), scale: Double(scale)))
        }
    }

    // MARK: rotary: per-head table (Wan) and full-width table (LTX)
    static let rotary: [OpCase] = [(2, 24, 6, "per-head table"), (1, 24, 12, "full-width table")].map { batches, width, pairs, label in
        OpCase(name: "rotary \(label) [\(batches),11,\(width)]", kind: .math, shape: [batches, 11, width]) { backend, random in
            let n = 11
            let x = random.values(batches * n * width), angles = random.values(n * pairs, scale: 3)
            let (cos, sin) = (angles.map { Foundation.cos($0) }, angles.map { Foundation.sin($0) })
            let out = try backend.rotary(try backend.tensor(x, [batches, n, width]), cos: try backend.tensor(cos, [n, pairs]), sin: try backend.tensor(sin, [n, pairs]))
            var expected = doubles(x)
            for row in 0 ..< batches * n {
                for p in 0 ..< width / 2 {
                    let angle = Double(angles[(row % n) * pairs + p % pairs])
                    let (a, b) = (Double(x[row * width + 2 * p]), Double(x[row * width + 2 * p + 1]))
                    expected[row * width + 2 * p] = a * Foundation.cos(angle) - b * Foundation.sin(angle)
                    expected[row * width + 2 * p + 1] = a * Foundation.sin(angle) + b * Foundation.cos(angle)
                }
            }
            return (out, expected)
        }
    }

    // MARK: conv3d: causal zero padding (Wan), replicate padding (LTX), stride, dilation, 2-D as kT = 1
    static let conv: [OpCase] = [
        ("causal zeros 3×3×3", [1, 3, 5, 7, 6], [4, 3, 3, 3, 3], Conv3DOptions(padding: (1, 1), temporalPadding: (2, 0)), [1, 4, 5, 7, 6]),
        ("replicate both ends", [2, 2, 4, 5, 5], [3, 2, 3, 3, 3], Conv3DOptions(padding: (1, 1), temporalPadding: (1, 1), temporalPadMode: .replicate), [2, 3, 4, 5, 5]),
        ("stride 2 (downsample)", [1, 4, 5, 9, 8], [4, 4, 3, 3, 3], Conv3DOptions(stride: (2, 2, 2), padding: (1, 1), temporalPadding: (2, 0)), [1, 4, 3, 5, 4]),
        ("2-D 1×3×3 dilation 2", [1, 3, 2, 9, 9], [5, 3, 1, 3, 3], Conv3DOptions(padding: (2, 2), dilation: (1, 2, 2)), [1, 5, 2, 9, 9]),
        ("1×1×1 shortcut", [1, 6, 3, 4, 5], [7, 6, 1, 1, 1], Conv3DOptions(), [1, 7, 3, 4, 5]),
        // Stride in space only with ≥ 8 output channels: the CPU's stride-1 kernel on the input's phases.
        ("2-D 1×3×3 stride 2, 6 → 10 channels (a VAE downsample)", [1, 6, 2, 9, 8], [10, 6, 1, 3, 3], Conv3DOptions(stride: (1, 2, 2)), [1, 10, 2, 4, 3]),
        ("3×3×3 stride (1, 2, 3), padded, 5 → 12 channels", [2, 5, 3, 7, 10], [12, 5, 3, 3, 3],
         Conv3DOptions(stride: (1, 2, 3), padding: (1, 1), temporalPadding: (2, 0)), [2, 12, 3, 4, 4]),
    ].map { label, shape, kernel, options, outShape in
        OpCase(name: "conv3d \(label)", kind: .math, shape: outShape) { backend, random in
            let x = random.values(shape.reduce(1, *)), w = random.values(kernel.reduce(1, *), scale: 0.3), b = random.values(kernel[0])
            let (weight, stored) = try OpCase.weight(backend, w, kernel, .f32)
            let out = try backend.conv3d(try backend.tensor(x, Shape(shape)), weight, bias: try backend.tensor(b, [kernel[0]]), options)
            let expected = Reference.conv3d(doubles(x), shape: shape, stored, kernel: kernel, bias: doubles(b),
                                            stride: (options.stride.t, options.stride.h, options.stride.w), padding: (options.padding.h, options.padding.w),
                                            temporal: (options.temporalPadding.before, options.temporalPadding.after),
                                            replicate: options.temporalPadMode == .replicate,
                                            dilation: (options.dilation.t, options.dilation.h, options.dilation.w))
            guard out.shape.dims == expected.shape else { throw TensorError("conv3d", "shape \(out.shape), expected \(expected.shape)") }
            return (out, expected.values)
        }
    }

    // MARK: layout
    static let layout: [OpCase] = [
        OpCase(name: "permute [2,3,4,5] → (0,2,3,1) (patchify order)", kind: .layout, shape: [2, 4, 5, 3]) { backend, random in
            let x = random.values(120)
            let out = try backend.permute(try backend.tensor(x, [2, 3, 4, 5]), [0, 2, 3, 1])
            var expected = [Double]()
            for a in 0 ..< 2 { for c in 0 ..< 4 { for d in 0 ..< 5 { for b in 0 ..< 3 { expected.append(Double(x[((a * 3 + b) * 4 + c) * 5 + d])) } } } }
            return (out, expected)
        },
        OpCase(name: "slice axis 1 [3,10,4] 2..<7 then reshape", kind: .layout, shape: [15, 4]) { backend, random in
            let x = random.values(120)
            let sliced = try backend.slice(try backend.tensor(x, [3, 10, 4]), axis: 1, 2 ..< 7)
            let out = try backend.reshape(sliced, [15, 4])
            var expected = [Double]()
            for a in 0 ..< 3 { for b in 2 ..< 7 { for c in 0 ..< 4 { expected.append(Double(x[(a * 10 + b) * 4 + c])) } } }
            return (out, expected)
        },
        OpCase(name: "concat axis 1 of [2,3,5] and [2,1,5]", kind: .layout, shape: [2, 4, 5]) { backend, random in
            let a = random.values(30), b = random.values(10)
            let out = try backend.concat([try backend.tensor(a, [2, 3, 5]), try backend.tensor(b, [2, 1, 5])], axis: 1)
            var expected = [Double]()
            for i in 0 ..< 2 { expected += a[i * 15 ..< i * 15 + 15].map(Double.init) + b[i * 5 ..< i * 5 + 5].map(Double.init) }
            return (out, expected)
        },
        OpCase(name: "pad axis 2 replicate (2,1) and zeros", kind: .layout, shape: [2, 6, 6]) { backend, random in
            let x = random.values(2 * 3 * 4)
            let padded = try backend.pad(try backend.tensor(x, [2, 3, 4]), axis: 1, before: 2, after: 1, mode: .replicate)
            let out = try backend.pad(padded, axis: 2, before: 0, after: 2, mode: .zeros)
            var expected = [Double]()
            for a in 0 ..< 2 { for i in 0 ..< 6 { let s = min(max(i - 2, 0), 2); for j in 0 ..< 6 { expected.append(j < 4 ? Double(x[(a * 3 + s) * 4 + j]) : 0) } } }
            return (out, expected)
        },
        OpCase(name: "interpolate trilinear [1,2,3,4,5] → [5,7,3]", kind: .math, shape: [1, 2, 5, 7, 3]) { backend, random in
            let shape = [1, 2, 3, 4, 5], x = random.values(120)
            let out = try backend.interpolate(try backend.tensor(x, Shape(shape)), size: [5, 7, 3], mode: .linear)
            var values = doubles(x), current = shape
            for (i, target) in [5, 7, 3].enumerated() {
                values = Reference.resize(values, shape: current, axis: 2 + i, to: target, linear: true)
                current[2 + i] = target
            }
            return (out, values)
        },
        OpCase(name: "interpolate nearest [1,1,2,3,3] → [4,5,6] (masks)", kind: .layout, shape: [1, 1, 4, 5, 6]) { backend, random in
            let shape = [1, 1, 2, 3, 3], x = random.values(18)
            let out = try backend.interpolate(try backend.tensor(x, Shape(shape)), size: [4, 5, 6], mode: .nearest)
            var values = doubles(x), current = shape
            for (i, target) in [4, 5, 6].enumerated() {
                values = Reference.resize(values, shape: current, axis: 2 + i, to: target, linear: false)
                current[2 + i] = target
            }
            return (out, values)
        },
        OpCase(name: "interpolate nearest 2× in H, W [1,3,2,3,5] → [6,10] (the VAE decoders' upsampling)", kind: .layout, shape: [1, 3, 2, 6, 10]) { backend, random in
            let shape = [1, 3, 2, 3, 5], x = random.values(90)
            let out = try backend.interpolate(try backend.tensor(x, Shape(shape)), size: [6, 10], mode: .nearest)
            var values = doubles(x), current = shape
            for (i, target) in [6, 10].enumerated() {
                values = Reference.resize(values, shape: current, axis: 3 + i, to: target, linear: false)
                current[3 + i] = target
            }
            return (out, values)
        },
        OpCase(name: "mean axis 1 [3,17,5]", kind: .math, shape: [3, 1, 5]) { backend, random in
            let x = random.values(255)
            let out = try backend.mean(try backend.tensor(x, [3, 17, 5]), axis: 1)
            var expected = [Double]()
            for a in 0 ..< 3 { for c in 0 ..< 5 { expected.append((0 ..< 17).reduce(0.0) { $0 + Double(x[(a * 17 + $1) * 5 + c]) } / 17) } }
            return (out, expected)
        },
    ]
}
