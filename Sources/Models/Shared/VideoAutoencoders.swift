import Tensors

/// The VAE a converted file holds, chosen by its family (the .vkq header), for the `vae` command and
/// the generation loop. Each family adds one case here.
public enum VideoAutoencoders {
    public static let families = ["wan2.1-vae", "ltx-video-vae-0.9", "ltx-video-vae-0.9.1", "ltx-video-vae-0.9.5"]

    /// Loads the VAE of `weights` on `backend`; a file of another kind is refused naming its family.
    public static func load(_ weights: any WeightProvider, on backend: any Backend) throws -> any VideoAutoencoder {
        switch weights.family {
        case "wan2.1-vae":
            return try WanVAE(weights: weights, backend: backend)
        case let family where family.hasPrefix("ltx-video-vae-"):
            return try LTXVAE(weights: weights, backend: backend)
        default:
            throw TensorError("VAE", "the file holds a \(weights.family) model, not a VAE (VAE families: \(families.joined(separator: ", ")))")
        }
    }
}
