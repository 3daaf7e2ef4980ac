/// SPIR-V of every shader in `Shaders/`, compiled at build time by the GLSLCompile plugin, which adds
/// one `static let <shaderName>: [UInt32]` per `Shaders/<shaderName>.comp` in an extension. The op
/// kernels come in pairs, `<family>_f32` and `<family>_f16` (see `KernelFamily`).
public enum EmbeddedSPIRV {}
