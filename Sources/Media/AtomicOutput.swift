import Foundation

/// A file written under a temporary name next to its destination and renamed into place only when
/// complete, so a crash or an error never leaves a truncated video where a good one is expected.
struct AtomicOutput {
    let destination: String
    let temporary: String

    init(destination: String) {
        self.destination = destination
        let url = URL(fileURLWithPath: destination)
        let name = ".\(url.lastPathComponent).partial-\(UUID().uuidString.prefix(8))"
        self.temporary = url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Moves the finished temporary file over the destination (rename(2): atomic on one file system).
    func commit() throws(MediaError) {
        if rename(temporary, destination) != 0 {
            let reason = String(cString: strerror(errno))
            discard()
            throw MediaError.fileSystem(path: destination, reason: "cannot rename \(temporary) into place: \(reason)")
        }
    }

    /// Removes the temporary file after a failure; a missing file is fine.
    func discard() {
        unlink(temporary)
    }
}
