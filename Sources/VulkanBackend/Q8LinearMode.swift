import Foundation

extension VulkanBackend {
    /// How `linear` meets a q8 weight, from `VACEKIT_Q8_MODE` (the variable the CPU backend reads
    /// for its own W8A8 / W8A16 choice).
    public enum Q8Mode: String, Sendable, CaseIterable {
        /// W8A8 where the device's packed int8 dot product is accelerated, else W8A16 (unset).
        case automatic
        /// W8A8 wherever the device has the integer dot product at all (`VACEKIT_Q8_MODE=w8a8`).
        case w8a8
        /// Always W8A16 (`VACEKIT_Q8_MODE=w8a16`).
        case w8a16

        public static let environmentVariable = "VACEKIT_Q8_MODE"

        /// The mode the environment asks for, read once; anything but `w8a8` / `w8a16` is `automatic`.
        public static let environment = Q8Mode(rawValue: ProcessInfo.processInfo.environment[environmentVariable] ?? "") ?? .automatic
    }

    /// The kernels a q8 linear runs; the raw value is the q8 part of its profiler label
    /// (`linear q8`, `linear q8a8`).
    public enum Q8Kernel: String, Sendable {
        /// W8A16: int8 weights dequantized to f32 on their way into shared memory, f32 FMAs (matmul.glsl).
        case dequantizedWeights = "q8"
        /// W8A8: activation rows quantized to int8, packed 4×8-bit dot products with int32 sums per
        /// weight group (quantize_rows.glsl, matmul_q8a8.glsl).
        case integerDotProduct = "q8a8"
    }

    /// What `linear` runs for a q8 weight under `mode` on this device: W8A8 only where the integer
    /// dot product is enabled, and then when it is accelerated or W8A8 is asked for. W8A8 adds the
    /// activations' quantization error (≈ 4e-3 relative L2, as the CPU backend's W8A8), a price
    /// `automatic` pays only where the driver reports the packed dot product as native. Where it is
    /// emulated the speed is the driver's affair (lavapipe vectorizes it well), hence opt-in there.
    public func q8Kernel(_ mode: Q8Mode) -> Q8Kernel {
        Self.q8Kernel(mode, integerDotProduct: device.enabledFeatures.integerDotProduct,
                      accelerated: device.capabilities.integerDotProductAccelerated)
    }

    /// The rule of `q8Kernel`, for a device described by its integer dot product support.
    static func q8Kernel(_ mode: Q8Mode, integerDotProduct: Bool, accelerated: Bool) -> Q8Kernel {
        guard integerDotProduct else { return .dequantizedWeights }
        switch mode {
        case .w8a16: return .dequantizedWeights
        case .w8a8: return .integerDotProduct
        case .automatic: return accelerated ? .integerDotProduct : .dequantizedWeights
        }
    }
}
