import Tensors

/// What the generation loop needs of a video VAE (Wan2.1's, LTX-Video's): pixels in, normalised
/// latents out, and back. Implementations chunk the work in time (and optionally tile in space) so
/// that memory is set by the chunk, not by the video length.
public protocol VideoAutoencoder: AnyObject {
    /// Channels of a latent frame (Wan: 16, LTX: 128).
    var latentChannels: Int { get }
    /// Pixel frames per latent frame after the first (Wan: 4, LTX: 8): F pixel frames = factor·(F' − 1) + 1.
    var temporalFactor: Int { get }
    /// Pixels per latent pixel along each side (Wan: 8, LTX: 32).
    var spatialFactor: Int { get }

    /// video `[B, 3, F, H, W]` in [−1, 1] → the posterior mean, normalised as the transformer consumes it,
    /// `[B, C, F', H', W']`.
    func encode(_ video: Tensor) throws -> Tensor

    /// latent `[B, C, F', H', W']` (normalised) → video `[B, 3, F, H, W]` (Wan: clamped to [−1, 1]; LTX: as
    /// the reference pipeline returns it).
    func decode(_ latent: Tensor, options: VAEDecodeOptions) throws -> Tensor

    /// The same decode, handing the video to `frames` a chunk of frames at a time `[B, 3, f, H, W]`, in
    /// order, so that a caller writing them out never holds the whole video.
    func decode(_ latent: Tensor, options: VAEDecodeOptions, frames: (Tensor) throws -> Void) throws
}

extension VideoAutoencoder {
    public func decode(_ latent: Tensor) throws -> Tensor { try decode(latent, options: VAEDecodeOptions()) }

    /// Default: one chunk, the whole video.
    public func decode(_ latent: Tensor, options: VAEDecodeOptions, frames: (Tensor) throws -> Void) throws {
        try frames(try decode(latent, options: options))
    }
}

/// Options of a decode. Only timestep-conditioned decoders (LTX-Video 0.9.1+) take `timestep`,
/// `noiseScale` and injected noise; others reject them (`VAEDecodeOptions.requireUnconditioned`).
public struct VAEDecodeOptions: Sendable {
    /// `decode_timestep` of the LTX pipeline (nil: the decoder's default / unconditioned).
    public var timestep: Float?
    /// `decode_noise_scale`: the latent is mixed as z·(1 − s) + noise·s before decoding.
    public var noiseScale: Float?
    /// Named noise maps (`decode_noise`, `decoder_noise.<path>`) given by the caller; the rest are drawn from `seed`.
    public var noise: [String: Tensor]
    public var seed: UInt64
    /// Spatial tile size in pixels (nil: whole frames) and the overlap blended between tiles.
    public var tile: Int?
    public var tileOverlap: Int
    /// Exact row bands (the Wan2.1 VAE): the decoder past its middle runs over horizontal bands of the frame
    /// one after another, each with the rows its convolutions reach (recomputed, not blended), so its causal
    /// caches hold a band's rows, not a frame's. 1: whole frames.
    public var rowBands: Int

    public init(timestep: Float? = nil, noiseScale: Float? = nil, noise: [String: Tensor] = [:], seed: UInt64 = 0,
                tile: Int? = nil, tileOverlap: Int = 64, rowBands: Int = 1) {
        self.timestep = timestep
        self.noiseScale = noiseScale
        self.noise = noise
        self.seed = seed
        self.tile = tile
        self.tileOverlap = tileOverlap
        self.rowBands = rowBands
    }

    /// Throws naming the option when a decoder without timestep conditioning is given one.
    public func requireUnconditioned(_ model: String) throws {
        if timestep != nil { throw TensorError(model, "--timestep applies only to timestep-conditioned decoders (LTX-Video 0.9.1+)") }
        if noiseScale != nil { throw TensorError(model, "--decode-noise-scale applies only to timestep-conditioned decoders (LTX-Video 0.9.1+)") }
    }
}
