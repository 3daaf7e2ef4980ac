import Foundation
import Tensors

/// The LTX-Video causal video VAE config as the converter writes it ("ours" naming of the LTX-Video
/// single-file header, `CausalVideoAutoencoder.from_config` in LTX-Video
/// ltx_video/models/autoencoders/causal_video_autoencoder.py). One type covers 0.9, 0.9.1 and 0.9.5:
/// the versions differ only in their block lists and in `timestep_conditioning`.
public struct LTXVAEConfig: Decodable, Sendable {
    /// One entry of a block list: `["res_x", 4]` (0.9 headers) or `["res_x", {"num_layers": 4}]` (0.9.1+).
    public struct Block: Decodable, Sendable, Equatable {
        public var name: String
        public var numLayers: Int
        public var multiplier: Int?
        public var residual: Bool
        public var injectNoise: Bool

        public init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            name = try c.decode(String.self)
            (numLayers, multiplier, residual, injectNoise) = (1, nil, false, false)
            if c.isAtEnd { return }
            if let n = try? c.decode(Int.self) {
                // The original turns an integer into {"num_layers": n} (Encoder/Decoder __init__).
                numLayers = n
            } else {
                let p = try c.decode(Params.self)
                numLayers = p.num_layers ?? 1
                multiplier = p.multiplier
                residual = p.residual ?? false
                injectNoise = p.inject_noise ?? false
            }
        }

        private struct Params: Decodable {
            var num_layers: Int?
            var multiplier: Int?
            var residual: Bool?
            var inject_noise: Bool?
        }
    }

    public var version: String
    public var inChannels: Int
    public var outChannels: Int
    public var latentChannels: Int
    public var patchSize: Int
    public var encoderBaseChannels: Int
    public var decoderBaseChannels: Int
    /// In encoder order; the decoder walks `decoderBlocks` reversed (as the original Decoder does).
    public var encoderBlocks: [Block]
    public var decoderBlocks: [Block]
    public var timestepConditioning: Bool
    /// false in every released VAE: the decoder pads both ends of time (replicating the edge frames).
    public var causalDecoder: Bool

    enum CodingKeys: String, CodingKey {
        case version, blocks, in_channels, out_channels, latent_channels, patch_size, base_channels
        case encoder_base_channels, decoder_base_channels, encoder_blocks, decoder_blocks, timestep_conditioning, causal_decoder
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(String.self, forKey: .version) ?? "0.9"
        inChannels = try c.decodeIfPresent(Int.self, forKey: .in_channels) ?? 3
        outChannels = try c.decodeIfPresent(Int.self, forKey: .out_channels) ?? 3
        latentChannels = try c.decodeIfPresent(Int.self, forKey: .latent_channels) ?? 128
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patch_size) ?? 4
        let base = try c.decodeIfPresent(Int.self, forKey: .base_channels) ?? 128
        encoderBaseChannels = try c.decodeIfPresent(Int.self, forKey: .encoder_base_channels) ?? base
        decoderBaseChannels = try c.decodeIfPresent(Int.self, forKey: .decoder_base_channels) ?? base
        // `config.get("encoder_blocks", config.get("blocks"))` in CausalVideoAutoencoder.from_config.
        let shared = try c.decodeIfPresent([Block].self, forKey: .blocks)
        guard let enc = try c.decodeIfPresent([Block].self, forKey: .encoder_blocks) ?? shared,
              let dec = try c.decodeIfPresent([Block].self, forKey: .decoder_blocks) ?? shared
        else { throw TensorError("LTXVAE config", "no `blocks` or `encoder_blocks`/`decoder_blocks` list") }
        encoderBlocks = enc
        decoderBlocks = dec
        timestepConditioning = try c.decodeIfPresent(Bool.self, forKey: .timestep_conditioning) ?? false
        causalDecoder = try c.decodeIfPresent(Bool.self, forKey: .causal_decoder) ?? false
    }
}
