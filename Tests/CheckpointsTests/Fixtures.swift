import Foundation

/// The committed reference fixtures (Tests/Fixtures, made by converters/reference/make_fixtures.py).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appending(path: "Fixtures")

    static func url(_ path: String) -> URL { root.appending(path: path) }
    static func path(_ path: String) -> String { url(path).path }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appending(path: "vacekit-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
