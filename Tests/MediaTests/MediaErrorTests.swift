import Foundation
import Media
import Testing

@Suite struct MediaErrorTests {
    @Test func missingFileNamesTheFileAndTheCall() throws {
        let path = "/nonexistent/vacekit/missing-clip.mp4"
        do {
            _ = try VideoReader().read(path: path)
            Issue.record("reading a missing file should fail")
        } catch {
            #expect(error.path == path)
            #expect(error.description.contains(path))
            #expect(error.description.contains("avformat_open_input"))
            #expect(error.description.contains("No such file or directory"))
        }
    }

    @Test func nonVideoFileIsRejected() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("notes.dat")
        try Data(String(repeating: "This is a plain text file, not a video.\n", count: 50).utf8)
            .write(to: URL(fileURLWithPath: path))
        do {
            let frames = try VideoReader().read(path: path)
            Issue.record("a text file decoded as \(frames.frameCount) frames")
        } catch {
            #expect(error.path == path)
            #expect(error.description.contains(path))
        }
    }

    @Test func unknownContainerExtensionIsRejected() throws {
        let clip = SyntheticClip.make(width: 8, height: 8, frames: 1, fps: 1)
        do {
            try VideoWriter().write(clip, to: "/tmp/vacekit-clip.not-a-container")
            Issue.record("an unknown extension should fail")
        } catch {
            guard case .invalidRequest = error else {
                Issue.record("expected invalidRequest, got \(error)")
                return
            }
        }
    }
}
