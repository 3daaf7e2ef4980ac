import ArgumentParser
import Foundation

@main
struct VaceKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vacekit",
        abstract: "Run the VACE video models (Wan2.1-VACE, VACE-LTX-Video) on Vulkan or CPU.",
        subcommands: [ConvertCommand.self, InspectCommand.self, VerifyCommand.self, ForwardCommand.self, VAECommand.self, EncodeTextCommand.self, ValidateCommand.self, BenchCommand.self, DevicesCommand.self, GenerateCommand.self])

    /// Errors of VaceKit's own modules already say what went wrong and where: print them as one line
    /// (exit 1). Argument errors keep ArgumentParser's usage output.
    static let ownModules = ["Checkpoints.", "VKQ.", "Media.", "VulkanBackend.", "CPUBackend.", "Tensors.", "Models.", "TextTokenizers.", "Pipeline.", "Runtime.", "Validation.", "vacekit."]


    static func main() {
        let arguments = ConvertCommand.normalize(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            let typeName = String(reflecting: type(of: error))
            if ownModules.contains(where: typeName.hasPrefix) {
                printError("\(error)")
                Foundation.exit(1)
            }
            exit(withError: error)
        }
    }
}
