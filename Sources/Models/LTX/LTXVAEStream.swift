import Tensors

/// Streaming in time: every layer of the LTX-Video VAE sees the video as a sequence of chunks of
/// frames and keeps, between chunks, only the few frames its temporal kernel still needs. A chunked
/// run therefore computes exactly the windows a whole-video run computes (the same ops on the same
/// frames), and the memory of a run is set by the chunk, not by the video length.
///
/// `last` marks the final chunk: layers then flush what they held back (the non-causal decoder
/// convolutions replicate the last frame, as `CausalConv3d.forward(causal=False)` does in LTX-Video
/// ltx_video/models/autoencoders/causal_conv3d.py).
final class StreamState {
    /// Per layer: frames received but not yet consumed (conv windows, residual queues, time groups).
    var pending: [String: Tensor] = [:]
    /// Layers that have seen their first frame (their front padding is done).
    var started: Set<String> = []
}

enum Frames {
    static func count(_ x: Tensor?) -> Int { x?.shape[2] ?? 0 }

    /// `a` then `b` along time; either may be absent.
    static func join(_ a: Tensor?, _ b: Tensor?, on backend: any Backend) throws -> Tensor? {
        guard let a else { return b }
        guard let b else { return a }
        return try backend.concat([a, b], axis: 2)
    }

    /// Frames `range` of `x` (nil when empty).
    static func take(_ x: Tensor, _ range: Range<Int>, on backend: any Backend) throws -> Tensor? {
        if range.isEmpty { return nil }
        if range == 0 ..< x.shape[2] { return x }
        return try backend.slice(x, axis: 2, range)
    }

    /// Appends `x` to the queue `key` and removes its first `n` frames (the ones a lagging branch has
    /// now caught up with).
    static func queue(_ key: String, push x: Tensor?, pop n: Int, state: StreamState, on backend: any Backend) throws -> Tensor? {
        let all = try join(state.pending[key], x, on: backend)
        guard let all else { return nil }
        state.pending[key] = try take(all, n ..< all.shape[2], on: backend)
        return try take(all, 0 ..< n, on: backend)
    }

    /// Frames in groups of `size` (time space-to-depth needs whole groups): returns the whole groups so
    /// far and keeps the remainder.
    static func groups(_ key: String, _ x: Tensor?, size: Int, state: StreamState, on backend: any Backend) throws -> Tensor? {
        guard size > 1 else { return x }
        let all = try join(state.pending[key], x, on: backend)
        guard let all else { return nil }
        let whole = all.shape[2] / size * size
        state.pending[key] = try take(all, whole ..< all.shape[2], on: backend)
        return try take(all, 0 ..< whole, on: backend)
    }

    /// Drops the stream's first frame (depth-to-space upsampling in time, `x[:, :, 1:]`).
    static func dropFirst(_ key: String, _ x: Tensor?, state: StreamState, on backend: any Backend) throws -> Tensor? {
        guard let x, !state.started.contains(key) else { return x }
        state.started.insert(key)
        return try take(x, 1 ..< x.shape[2], on: backend)
    }
}

/// LTX-Video's `CausalConv3d`: kernel k, spatial zero padding k/2, temporal replicate padding of the
/// first frame (k − 1 copies when causal; (k − 1)/2 at each end otherwise), then a plain conv.
struct LTXConv {
    let name: String
    let weight, bias: Tensor
    let stride: (t: Int, h: Int, w: Int)
    let causal: Bool

    init(_ name: String, _ weights: any WeightProvider, _ backend: any Backend, stride: (Int, Int, Int) = (1, 1, 1), causal: Bool) throws {
        self.name = name
        weight = try weights.load(name + ".weight", on: backend)
        bias = try weights.load(name + ".bias", on: backend)
        self.stride = stride
        self.causal = causal
    }

    var outChannels: Int { weight.shape[0] }
    var inChannels: Int { weight.shape[1] }

    /// The output frames this chunk completes (nil: none yet). The replicated first and last frames are
    /// the conv's own temporal padding (read in place, never copied); only frames a later chunk still
    /// needs are kept, and the whole chunk is one conv call.
    func callAsFunction(_ x: Tensor?, last: Bool, _ state: StreamState, on b: any Backend) throws -> Tensor? {
        let k = weight.shape[2]
        var options = Conv3DOptions(stride: (stride.t, stride.h, stride.w), padding: (weight.shape[3] / 2, weight.shape[4] / 2))
        if k == 1 && stride.t == 1 { return try x.map { try b.conv3d($0, weight, bias: bias, options) } }
        var frames = state.pending[name], front = 0
        if let x {
            if state.started.contains(name) {
                frames = try Frames.join(frames, x, on: b)
            } else {
                state.started.insert(name)
                (frames, front) = (x, causal ? k - 1 : (k - 1) / 2)
            }
        }
        guard let all = frames else { return nil }
        let back = last && !causal ? (k - 1) / 2 : 0
        // The padded sequence is `front` copies of frame 0, the frames, then `back` copies of the last one.
        let padded = front + all.shape[2] + back
        let outputs = padded >= k ? (padded - k) / stride.t + 1 : 0
        let consumed = outputs * stride.t                       // padded frames no later window starts at
        if last {
            state.pending[name] = nil
        } else if consumed >= front {
            state.pending[name] = try Frames.take(all, consumed - front ..< all.shape[2], on: b)
        } else {                                                // fewer frames than the kernel: keep the padding too
            state.pending[name] = try b.pad(all, axis: 2, before: front - consumed, after: 0, mode: .replicate)
        }
        guard outputs > 0 else { return nil }
        (options.temporalPadding, options.temporalPadMode) = ((front, back), .replicate)
        return try b.conv3d(all, weight, bias: bias, options)                                  // [B, O, outputs, H', W']
    }
}
