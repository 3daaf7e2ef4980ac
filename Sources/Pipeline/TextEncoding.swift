/// A prompt encoder for the DiT's text input (umT5-XXL for Wan2.1). The generation loop takes text
/// embeddings; a text encoder turns `--prompt` into them.
public protocol TextEncoding: AnyObject {
    /// The prompt's hidden states trimmed to its real length (tokens + EOS), `[1, L, text_dim]`.
    func encode(prompt: String) throws -> HostTensor
}

/// The negative prompt of the original Wan code (`wan/configs/shared_config.py`, `sample_neg_prompt`),
/// used whenever the negative prompt is empty.
public let wanDefaultNegativePrompt = "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
