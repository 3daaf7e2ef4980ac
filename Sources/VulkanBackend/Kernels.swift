/// The compute kernels of the backend: one family per shader body in `Shaders/<family>.glsl`, each
/// compiled for f32 and for f16 activations (`<family>_f32.comp`, `<family>_f16.comp`), with the
/// binding and push-constant layout the Swift side must match.
enum KernelFamily: String, CaseIterable, Sendable {
    case matmul, conv3d, elementwise, norms, rotary, layout, attention

    func spirv(halfActivations: Bool) -> [UInt32] {
        switch (self, halfActivations) {
        case (.matmul, false): EmbeddedSPIRV.matmul_f32
        case (.matmul, true): EmbeddedSPIRV.matmul_f16
        case (.conv3d, false): EmbeddedSPIRV.conv3d_f32
        case (.conv3d, true): EmbeddedSPIRV.conv3d_f16
        case (.elementwise, false): EmbeddedSPIRV.elementwise_f32
        case (.elementwise, true): EmbeddedSPIRV.elementwise_f16
        case (.norms, false): EmbeddedSPIRV.norms_f32
        case (.norms, true): EmbeddedSPIRV.norms_f16
        case (.rotary, false): EmbeddedSPIRV.rotary_f32
        case (.rotary, true): EmbeddedSPIRV.rotary_f16
        case (.layout, false): EmbeddedSPIRV.layout_f32
        case (.layout, true): EmbeddedSPIRV.layout_f16
        case (.attention, false): EmbeddedSPIRV.attention_f32
        case (.attention, true): EmbeddedSPIRV.attention_f16
        }
    }

    /// Storage buffers, bindings 0 ..< bindingCount.
    var bindingCount: Int {
        switch self {
        case .matmul, .conv3d, .attention: 5
        case .elementwise, .norms, .rotary: 4
        case .layout: 2
        }
    }

    /// 32-bit words of the push-constant block.
    var pushWords: Int {
        switch self {
        case .matmul: 12
        case .conv3d: 30
        case .elementwise: 30
        case .norms: 12
        case .rotary: 10
        case .layout: 23
        case .attention: 14
        }
    }

    /// Invocations per workgroup of the 1-D elementwise-style kernels (fixed in their shaders).
    static let elementGroupSize = 256
}
