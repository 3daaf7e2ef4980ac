import Checkpoints
import Foundation

/// Runs the `vacekit` binary built next to this test bundle, in a scratch directory per test.
struct CLI {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appending(path: "Fixtures")
    static let binary: URL = {
        // .build/<config>/VaceKitPackageTests.xctest (a file on Linux) → .build/<config>/vacekit
        var dir = Bundle.main.bundleURL
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appending(path: "vacekit").path) { dir.deleteLastPathComponent() }
        return dir.appending(path: "vacekit")
    }()

    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "vacekit-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory.appending(path: name).path }

    /// Runs `vacekit arguments…`; returns the exit status and stderr.
    @discardableResult
    func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Writes f32 tensors to `name` in this directory.
    func write(_ name: String, _ tensors: [(String, [Int], [Float])]) throws -> String {
        try SafetensorsWriter(tensors: tensors.map { .init(name: $0.0, shape: $0.1, floats: $0.2) }).write(to: directory.appending(path: name))
        return path(name)
    }

    /// A fixture checkpoint converted (f32) into this directory.
    func convert(_ fixture: String, to name: String) throws -> String {
        let output = directory.appending(path: name)
        _ = try Converter.convert(inputs: [Self.fixtures.appending(path: fixture).path], options: .init(output: output, recipe: Recipe(precision: .f32)))
        return output.path
    }

    var files: [String] { (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] }
}
