import ArgumentParser

@main
struct VaceKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vacekit",
        abstract: "Run the VACE video models (Wan2.1-VACE, VACE-LTX-Video) on Vulkan or CPU.",
        subcommands: [])
}
