/// A prompt encoder for the DiT's text input (umT5-XXL for Wan2.1). The generation loop takes text
/// embeddings; a text encoder turns `--prompt` into them.
public protocol TextEncoding: AnyObject {
    /// The prompt's hidden states trimmed to its real length (tokens + EOS), `[1, L, text_dim]`.
    func encode(prompt: String) throws -> HostTensor
}
