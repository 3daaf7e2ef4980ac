import ArgumentParser
import Foundation
import Models
import Runtime
import Tensors

/// `--device cpu | vulkan | vulkan:N` (and VACEKIT_DEVICE for the Vulkan device name or index), chosen
/// by the Runtime target; the command line prints its fallback notice.
enum DeviceOption {
    /// `vaeCache`: `--vae-cache` (f16: the CPU keeps a VAE's causal caches in f16), nil: as `activations`.
    static func backend(_ option: String?, activations: String, vaeCache: String? = nil) throws -> any Backend {
        let kept: ActivationPrecision? = vaeCache.map { $0 == "f16" ? .f16 : .f32 }
        let choice = try BackendChoice.make(try DeviceRequest(parsing: option), activations: activations == "f16" ? .f16 : .f32, kept: kept)
        if let notice = choice.notice { FileHandle.standardError.write(Data("vacekit: \(notice)\n".utf8)) }
        return choice.backend
    }
}

struct DeviceError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension WeightResidency: ExpressibleByArgument {}
