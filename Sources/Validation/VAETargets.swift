import Foundation
import Models
import Tensors

extension ValidationTargets.Entry {
    /// The Wan2.1 VAE: encode (input video [B,3,1+4k,H,W] → latent, the normalised posterior mean) or decode
    /// (latent → video), as `vacekit vae` runs them; points are the stage outputs under the official names.
    public static let wanVAE = ValidationTargets.Entry(
        name: "the Wan2.1 VAE",
        matches: { family, component in family == "wan2.1-vae" && component == "vae" },
        make: { weights, backend, _ in VAETarget(vae: try WanVAE(weights: weights, backend: backend), inputs: ["video", "latent"], backend: backend) })

    /// The LTX-Video VAEs (0.9, 0.9.1, 0.9.5): encode or decode; a timestep-conditioned decoder reads
    /// `decode_timestep` (one value).
    public static let ltxVAE = ValidationTargets.Entry(
        name: "the LTX-Video VAEs",
        matches: { family, component in family.hasPrefix("ltx-video-vae") && component == "vae" },
        make: { weights, backend, residency in
            VAETarget(vae: try LTXVAE(weights: weights, backend: backend, residency: residency), inputs: ["video", "latent", "decode_timestep"], backend: backend)
        })
}

/// A VAE on a dump of one direction: encode when the dump's output is `latent` (or its points are the
/// encoder's), decode when it is `video`.
struct VAETarget: ValidationTarget {
    enum Direction { case encode, decode }
    let vae: any VideoAutoencoder
    let inputs: Set<String>
    let backend: any Backend

    static func direction(of dump: ReferenceDump) throws -> Direction {
        if let outputs = dump.outputs {
            if outputs == ["latent"] { return .encode }
            if outputs == ["video"] { return .decode }
        }
        let points = dump.points
        if !points.isEmpty, points.allSatisfy({ $0.hasPrefix("encoder.") }) { return .encode }
        if !points.isEmpty, points.allSatisfy({ $0.hasPrefix("decoder.") }) { return .decode }
        throw ValidateError("\(dump.name): a VAE dump of one direction: output latent and encoder.* points (encode), or output video and decoder.* points (decode)")
    }

    func signature(of dump: ReferenceDump) throws -> ValidationSignature {
        switch try Self.direction(of: dump) {
        case .encode: .init(inputs: ["video"], output: "latent")
        // A 0.9.1 decoder's noise maps travel in the dump as they do in `vae decode --inputs`.
        case .decode: .init(inputs: inputs.subtracting(["video"]).union(dump.file.names.filter { $0.hasPrefix("decoder_noise.") }), output: "video")
        }
    }

    func run(_ dump: ReferenceDump, tap: @escaping Tap) throws -> Tensor {
        let direction = try Self.direction(of: dump)
        setTap(tap)
        defer { setTap(nil) }
        switch direction {
        case .encode:
            return try vae.encode(try dump.tensor("video", on: backend))
        case .decode:
            var options = VAEDecodeOptions()
            if dump.contains("decode_timestep") {
                let values = try dump.floats("decode_timestep")
                guard values.count == 1 else { throw ValidateError("\(dump.name): decode_timestep must be one value, got \(values.count)") }
                options.timestep = values[0]
                // The dump runs the decoder alone: the pipeline's noise mix (decode_noise_scale) is not part of it.
                options.noiseScale = 0
            }
            for name in dump.file.names where name.hasPrefix("decoder_noise.") { options.noise[name] = try dump.tensor(name, on: backend) }
            return try vae.decode(try dump.tensor("latent", on: backend), options: options)
        }
    }

    private func setTap(_ tap: Tap?) {
        if let wan = vae as? WanVAE { wan.tap = tap }
        if let ltx = vae as? LTXVAE { ltx.tap = tap }
    }
}
