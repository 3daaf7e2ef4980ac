/// The negative prompts the reference pipelines use by default (`--negative-prompt default`).
public enum DefaultNegativePrompt {
    /// Wan2.1's `sample_neg_prompt` (wan/configs/shared_config.py), used when the negative prompt is empty.
    public static let wan = "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
    /// LTX-Video's inference.py default `negative_prompt`.
    public static let ltx = "worst quality, inconsistent motion, blurry, jittery, distorted"

    /// The default of the pipeline a tokenizer's clean-up belongs to.
    public static func `for`(_ cleaning: PromptCleaning) -> String { cleaning == .wan ? wan : ltx }
}
