/// The op set every backend implements (the contract models are written against).
///
/// Conventions: activations are row-major and contiguous; "tokens" tensors are `[B, N, C]`; video tensors
/// are channels-first `[B, C, T, H, W]`. Each op states its precision policy; "f32 math" means inputs are
/// widened to f32, accumulated in f32 and the result is written in the activation dtype of the backend
/// (f32 on the CPU; f16 or f32 on Vulkan). Shape errors throw `TensorError` naming the op and the shapes.
public protocol Backend: AnyObject, Sendable {
    /// e.g. `cpu (OpenBLAS Haswell, AVX-512 VNNI)` or `vulkan: NVIDIA GeForce RTX 4090`.
    var name: String { get }

    // MARK: data movement
    /// A new activation tensor holding `values` (row-major).
    func tensor(_ values: [Float], _ shape: Shape) throws -> Tensor
    /// The values of any tensor as f32 (synchronises with the device).
    func floats(_ tensor: Tensor) throws -> [Float]
    /// A weight from its stored bytes (f32, f16, bf16 or q8 + scales), resident for the backend's lifetime.
    func weight(_ data: WeightData) throws -> Tensor

    // MARK: linear algebra
    /// `x · Wᵀ + b` over the last dim: x `[..., K]`, W `[N, K]` (any weight dtype; q8 dequantized in the
    /// kernel), b `[N]` → `[..., N]`. f32 accumulation.
    func linear(_ x: Tensor, _ weight: Tensor, bias: Tensor?) throws -> Tensor

    // MARK: elementwise (NumPy broadcasting; f32 math)
    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws -> Tensor
    /// `x · (1 + scale) + shift`, scale and shift broadcast against x (adaLN modulation).
    func modulate(_ x: Tensor, scale: Tensor, shift: Tensor) throws -> Tensor
    /// `x + gate · y` (gated residual), gate broadcast against x.
    func gatedResidual(_ x: Tensor, _ y: Tensor, gate: Tensor) throws -> Tensor
    func unary(_ op: UnaryOp, _ x: Tensor) throws -> Tensor

    // MARK: normalisation (f32 statistics)
    /// LayerNorm over the last dim (biased variance), optional affine weight/bias `[C]`.
    func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor
    /// `layerNorm(x) · (1 + scale) + shift`: LayerNorm over the last dim without affine, then `modulate`
    /// (the adaLN of DiT blocks), scale and shift broadcast against x. Backends fuse it into one pass over
    /// each row (statistics, then the modulated write); the default composes the two ops.
    func modulatedLayerNorm(_ x: Tensor, scale: Tensor, shift: Tensor, eps: Float) throws -> Tensor
    /// RMSNorm over the last dim: `x / sqrt(mean(x²) + eps) · weight` (over all heads when C = heads × D).
    func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor
    /// Normalisation over the channel dim 1 of `[B, C, ...]`: `.groupNorm(groups)` (with affine `[C]`),
    /// `.wanRMS` (`x / max(‖x‖₂, 1e-12) · √C · γ + β`, the Wan VAE's RMS_norm), `.pixel` (LTX:
    /// `x / sqrt(mean(x²) + eps)`).
    func channelNorm(_ kind: ChannelNorm, _ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor

    // MARK: attention
    /// Multi-head scaled-dot-product attention. q `[B, Nq, H·D]`, k and v `[B, Nk, H·D]` → `[B, Nq, H·D]`.
    /// `keyMask` `[B, Nk]` (1 = attend, 0 = ignore) is optional. Computed in tiles with an online
    /// softmax: the Nq × Nk score matrix is never materialised. f32 softmax and accumulation.
    /// `precision` says how far the operands may be rounded (see `AttentionPrecision`); a backend may
    /// always compute more precisely than asked.
    func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyMask: Tensor?, precision: AttentionPrecision) throws -> Tensor
    /// The same attention with an additive score bias and an explicit scale: per head,
    /// `softmax(scale · q·kᵀ + bias) · v`. `bias` `[Bb, H, Nq, Nk]` with Bb = 1 (shared by the batch) or B.
    /// T5 calls it with scale 1 and its relative-position bias: the T5 paper folds 1/√d into the
    /// initialisation of q, and transformers' T5Attention (modeling_t5.py) applies no scaling.
    func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyMask: Tensor?, bias: Tensor, scale: Float) throws -> Tensor

    /// Rotary embedding on adjacent pairs: for token n and pair p of x `[B, N, C]`,
    /// `(x[2p], x[2p+1]) ← (x·cos − y·sin, x·sin + y·cos)` with angle tables `cos`, `sin` `[N, P]`
    /// indexed by `p mod P` (P = D/2 repeats one table per head, as Wan does; P = C/2 covers the full
    /// width, as LTX does). f32 math.
    func rotary(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor

    // MARK: convolution (f32 accumulation)
    /// 3-D convolution, x `[B, C, T, H, W]`, weight `[O, C, kT, kH, kW]` (any weight dtype), bias `[O]`.
    func conv3d(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ options: Conv3DOptions) throws -> Tensor
    /// The same conv3d of the frames `history` then `x` along time (each `[B, C, tᵢ, H, W]`, history
    /// possibly `compact`), as if they were concatenated first: a causal conv meeting its frame cache. A
    /// backend may read them in place instead of joining them (the CPU's direct kernel does).
    func conv3d(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ options: Conv3DOptions, history: [Tensor]) throws -> Tensor

    // MARK: layout
    /// Same data, new shape (element count must match). Never copies.
    func reshape(_ x: Tensor, _ shape: Shape) throws -> Tensor
    /// Dimensions reordered (`axes[i]` is the source axis of output axis i); copies.
    func permute(_ x: Tensor, _ axes: [Int]) throws -> Tensor
    func concat(_ tensors: [Tensor], axis: Int) throws -> Tensor
    /// Elements `range` of `axis`.
    func slice(_ x: Tensor, axis: Int, _ range: Range<Int>) throws -> Tensor
    /// Pads `axis` with `before`/`after` elements: zeros or a copy of the edge element (replicate).
    func pad(_ x: Tensor, axis: Int, before: Int, after: Int, mode: PadMode) throws -> Tensor
    /// Resizes the trailing `size.count` dims (nearest or (tri)linear, align_corners false).
    func interpolate(_ x: Tensor, size: [Int], mode: InterpolationMode) throws -> Tensor

    // MARK: keeping activations
    /// `x` in the form to hold it across calls (the causal caches of a video VAE, kept for the next
    /// chunk): in f16, half the memory, where the backend keeps activations compactly (the CPU backend
    /// made with `keptActivations: .f16`); otherwise `x` itself. A compacted tensor is an operand of
    /// `concat` and `floats` only, which read it as f32 (the f16 values exactly).
    func compact(_ x: Tensor) throws -> Tensor

    // MARK: reductions (f32 accumulation)
    /// Mean over `axis`, keeping it as size 1.
    func mean(_ x: Tensor, axis: Int) throws -> Tensor
}

extension Backend {
    /// The frames joined, then one conv3d.
    public func conv3d(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ options: Conv3DOptions, history: [Tensor]) throws -> Tensor {
        try conv3d(history.isEmpty ? x : try concat(history + [x], axis: 2), weight, bias: bias, options)
    }

    /// Attention at full precision (`AttentionPrecision.f32`).
    public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, keyMask: Tensor?) throws -> Tensor {
        try attention(q: q, k: k, v: v, heads: heads, keyMask: keyMask, precision: .f32)
    }

    public func modulatedLayerNorm(_ x: Tensor, scale: Tensor, shift: Tensor, eps: Float) throws -> Tensor {
        try modulate(try layerNorm(x, weight: nil, bias: nil, eps: eps), scale: scale, shift: shift)
    }
}

public enum BinaryOp: Sendable { case add, sub, mul, div }
public enum UnaryOp: Sendable, Equatable {
    /// GELU with the tanh approximation (`gelu_new`, `gelu-approximate`).
    case geluTanh
    case gelu
    case silu
    case scale(Float)
    case clamp(Float, Float)
}
public enum ChannelNorm: Sendable, Equatable {
    case groupNorm(groups: Int)
    case wanRMS
    case pixel
}
/// The operand precision an attention call allows. `.f32`: q, k, v and the softmax weights as they are.
/// `.bf16`: they may be rounded to bfloat16 with the products still summed in f32 — what PyTorch's bf16
/// attention computes, and below the rounding of a model whose weights are bf16 or q8 (where the CPU
/// has a bf16 dot product this halves the attention's time; elsewhere it computes in f32).
public enum AttentionPrecision: Sendable, Equatable {
    case f32
    case bf16

    /// What a model whose matrices are stored as `weights` asks of its attention: bf16 for bf16 and q8
    /// weights (their own rounding is coarser), f32 for f32 and f16 ones.
    public init(weights: DType) {
        switch weights {
        case .bf16, .q8: self = .bf16
        case .f32, .f16: self = .f32
        }
    }
}

public enum PadMode: Sendable, Equatable { case zeros, replicate }
public enum InterpolationMode: Sendable, Equatable { case nearest, linear }

/// Options of `conv3d`. Temporal padding is explicit so that causal convolutions are expressed exactly:
/// Wan's CausalConv3d pads `2·pT` zeros before and none after; LTX's causal encoder replicates the first
/// frame `kT − 1` times; LTX's non-causal decoder replicates both ends.
public struct Conv3DOptions: Sendable, Equatable {
    public var stride: (t: Int, h: Int, w: Int)
    public var padding: (h: Int, w: Int)
    public var temporalPadding: (before: Int, after: Int)
    public var temporalPadMode: PadMode
    public var dilation: (t: Int, h: Int, w: Int)

    public init(stride: (Int, Int, Int) = (1, 1, 1), padding: (Int, Int) = (0, 0), temporalPadding: (Int, Int) = (0, 0),
                temporalPadMode: PadMode = .zeros, dilation: (Int, Int, Int) = (1, 1, 1)) {
        self.stride = stride
        self.padding = padding
        self.temporalPadding = temporalPadding
        self.temporalPadMode = temporalPadMode
        self.dilation = dilation
    }

    /// The output shape `[B, O, T', H', W']` of a conv3d of `input` `[B, C, T, H, W]` with `weight`
    /// `[O, C, kT, kH, kW]`; throws (naming the shapes) when they do not fit together.
    public func outputShape(input x: Shape, weight: Shape) throws -> Shape {
        guard x.rank == 5 else { throw TensorError("conv3d", operand: "x", expected: "[B, C, T, H, W]", actual: "\(x)") }
        guard weight.rank == 5, weight[1] == x[1] else {
            throw TensorError("conv3d", operand: "weight", expected: "[O, \(x[1]), kT, kH, kW] (C of x \(x))", actual: "\(weight)")
        }
        guard stride.t > 0, stride.h > 0, stride.w > 0, dilation.t > 0, dilation.h > 0, dilation.w > 0,
              padding.h >= 0, padding.w >= 0, temporalPadding.before >= 0, temporalPadding.after >= 0 else {
            throw TensorError("conv3d", operand: "options", expected: "strides and dilations ≥ 1, paddings ≥ 0", actual: "\(self)")
        }
        let tOut = (x[2] + temporalPadding.before + temporalPadding.after - dilation.t * (weight[2] - 1) - 1) / stride.t + 1
        let hOut = (x[3] + 2 * padding.h - dilation.h * (weight[3] - 1) - 1) / stride.h + 1
        let wOut = (x[4] + 2 * padding.w - dilation.w * (weight[4] - 1) - 1) / stride.w + 1
        guard tOut > 0, hOut > 0, wOut > 0 else {
            throw TensorError("conv3d", operand: "x", expected: "at least the (dilated) kernel \(weight) after padding", actual: "\(x)")
        }
        if temporalPadMode == .replicate && x[2] == 0 { throw TensorError("conv3d", operand: "x", expected: "T > 0 (replicate padding)", actual: "\(x)") }
        return [x[0], weight[0], tOut, hOut, wOut]
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.stride == b.stride && a.padding == b.padding && a.temporalPadding == b.temporalPadding
            && a.temporalPadMode == b.temporalPadMode && a.dilation == b.dilation
    }
}

/// A shape or argument the op cannot take. Shape errors of the op contract (`OpShapes`) also name the
/// operand and the expected and actual value, the same on every backend.
public struct TensorError: Error, CustomStringConvertible, Equatable {
    public var op: String
    public var message: String
    public var operand: String?
    public var expected: String?
    public var actual: String?
    public init(_ op: String, _ message: String) {
        self.op = op
        self.message = message
    }
    public init(_ op: String, operand: String, expected: String, actual: String) {
        self.op = op
        self.operand = operand
        self.expected = expected
        self.actual = actual
        self.message = "\(operand): expected \(expected), got \(actual)"
    }
    public var description: String { "\(op): \(message)" }
}
