import Foundation
import Media
import Testing
import TestSupport

/// Bounded mutation fuzzing of the media readers (FFmpeg demuxers and decoders behind `VideoInfo` and
/// `VideoReader`): every mutated PNG, JPEG or mp4 either reads — with the frame size and count it claims — or
/// is refused with a `MediaError` naming the file; no crash, no hang. `VACEKIT_FUZZ_ITERATIONS` inputs per
/// format (default 200 here: each input is a file FFmpeg opens; `make fuzz` runs 1 000 000).
@Suite struct MediaFuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["VACEKIT_FUZZ_ITERATIONS"].flatMap(Int.init).map { max(1, $0) } ?? 200

    let directory: URL
    init() throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "vacekit-media-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func fuzz(_ name: String, seedFile: String, seedValue: UInt64) throws {
        let seed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: seedFile)))
        var mutator = ByteMutator(seed: seedValue)
        let path = directory.appending(path: "input-" + (seedFile as NSString).lastPathComponent).path
        var (loaded, refused) = (0, 0)
        for i in 0 ..< Self.iterations {
            let input = mutator.mutate(seed)
            if input == seed { continue }
            try Data(input).write(to: URL(fileURLWithPath: path))
            do {
                let info = try VideoInfo(path: path)
                // A header may claim anything; the reader is capped so a mutated count cannot allocate without bound.
                let frames = try VideoReader(maxFrames: 8).read(path: path)
                #expect(frames.pixels.count == frames.width * frames.height * 3 * frames.frameCount, "\(name) input \(i)")
                #expect(frames.frameCount <= 8 && info.size.width > 0 && info.size.height > 0, "\(name) input \(i)")
                loaded += 1
            } catch {
                #expect(!"\(error)".isEmpty && "\(error)".contains(path), "\(name) input \(i): \(error)")
                refused += 1
            }
        }
        print("fuzz \(name): \(Self.iterations) inputs, \(loaded) read, \(refused) refused with a MediaError")
    }

    @Test func images() throws {
        let clip = SyntheticClip.make(width: 24, height: 16, frames: 1, fps: 1)
        let png = directory.appending(path: "seed.png").path, jpeg = directory.appending(path: "seed.jpg").path
        try ImageWriter.writePNG(clip, to: png)
        try ImageWriter.writeJPEG(clip, to: jpeg)
        try fuzz("png", seedFile: png, seedValue: 1)
        try fuzz("jpeg", seedFile: jpeg, seedValue: 2)
    }

    @Test func mp4() throws {
        let mp4 = directory.appending(path: "seed.mp4").path
        try VideoWriter(preset: "ultrafast").write(SyntheticClip.make(width: 32, height: 16, frames: 3, fps: 8), to: mp4)
        try fuzz("mp4", seedFile: mp4, seedValue: 3)
    }
}
