import ArgumentParser
import Foundation
import Models
import Runtime
import Tensors

/// `--device cpu | vulkan | vulkan:N` (and VACEKIT_DEVICE for the Vulkan device name or index), chosen
/// by the Runtime target; the command line prints its fallback notice.
enum DeviceOption {
    static func backend(_ option: String?, activations: String) throws -> any Backend {
        let choice = try BackendChoice.make(try DeviceRequest(parsing: option), activations: activations == "f16" ? .f16 : .f32)
        if let notice = choice.notice { FileHandle.standardError.write(Data("vacekit: \(notice)\n".utf8)) }
        return choice.backend
    }
}

struct DeviceError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension WeightResidency: ExpressibleByArgument {}
