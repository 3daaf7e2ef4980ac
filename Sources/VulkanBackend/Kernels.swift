/// The compute kernels of the backend: one family per shader body in `Shaders/<family>.glsl`, each
/// compiled for f32 and for f16 activations (`<family>_f32.comp`, `<family>_f16.comp`), with the
/// binding and push-constant layout the Swift side must match.
enum KernelFamily: String, CaseIterable, Sendable {
    case matmul, conv3d, elementwise, norms, rotary, layout, attention
    /// norms.glsl with its reductions in subgroup arithmetic (only for devices that have it in compute).
    case normsSubgroup
    /// The W8A8 linear (devices with shaderIntegerDotProduct only): activation rows to int8
    /// (quantize_rows.glsl), then the packed int8 dot-product GEMM (matmul_q8a8.glsl).
    case quantizeRows, matmulQ8A8
    /// The linear on matrix cores (devices with `EnabledFeatures.cooperativeMatrix` only): 16×16×16
    /// f16 fragments with f32 accumulation (matmul_coopmat.glsl), same contract as matmul.
    case matmulCoopmat

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
        case (.normsSubgroup, false): EmbeddedSPIRV.norms_subgroup_f32
        case (.normsSubgroup, true): EmbeddedSPIRV.norms_subgroup_f16
        case (.rotary, false): EmbeddedSPIRV.rotary_f32
        case (.rotary, true): EmbeddedSPIRV.rotary_f16
        case (.layout, false): EmbeddedSPIRV.layout_f32
        case (.layout, true): EmbeddedSPIRV.layout_f16
        case (.attention, false): EmbeddedSPIRV.attention_f32
        case (.attention, true): EmbeddedSPIRV.attention_f16
        case (.quantizeRows, false): EmbeddedSPIRV.quantize_rows_f32
        case (.quantizeRows, true): EmbeddedSPIRV.quantize_rows_f16
        case (.matmulQ8A8, false): EmbeddedSPIRV.matmul_q8a8_f32
        case (.matmulQ8A8, true): EmbeddedSPIRV.matmul_q8a8_f16
        case (.matmulCoopmat, false): EmbeddedSPIRV.matmul_coopmat_f32
        case (.matmulCoopmat, true): EmbeddedSPIRV.matmul_coopmat_f16
        }
    }

    /// Storage buffers, bindings 0 ..< bindingCount.
    var bindingCount: Int {
        switch self {
        case .matmul, .matmulCoopmat, .conv3d: 5
        case .attention: 6
        case .elementwise, .norms, .rotary: 4
        case .normsSubgroup: 4
        case .layout: 2
        case .quantizeRows: 2
        case .matmulQ8A8: 5
        }
    }

    /// 32-bit words of the push-constant block.
    var pushWords: Int {
        switch self {
        case .matmul, .matmulCoopmat: 12
        case .conv3d: 30
        case .elementwise: 30
        case .norms, .normsSubgroup: 16
        case .rotary: 10
        case .layout: 23
        case .attention: 17
        case .quantizeRows: 8
        case .matmulQ8A8: 14
        }
    }

    /// Invocations per workgroup of the 1-D elementwise-style kernels (fixed in their shaders).
    static let elementGroupSize = 256
}
