import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Progress on stderr: a redrawn bar with MB/s and ETA on a terminal, a plain line every 10% otherwise.
final class ProgressLine {
    private let label: String
    private let quiet: Bool
    private let terminal = isatty(STDERR_FILENO) != 0
    private let start = Date()
    private var lastDecile = -1
    private var lastDraw = Date.distantPast

    init(label: String, quiet: Bool) {
        self.label = label
        self.quiet = quiet
    }

    func update(items: Int, of totalItems: Int, bytes: Int, of totalBytes: Int) {
        guard !quiet else { return }
        let fraction = totalBytes > 0 ? Double(bytes) / Double(totalBytes) : Double(items) / Double(max(totalItems, 1))
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(bytes) / elapsed / 1e6 : 0
        let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        let text = String(format: "%@ %3.0f%%  %d/%d tensors  %.0f MB/s  ETA %@", label, fraction * 100, items, totalItems, rate, Self.clock(eta))
        if terminal {
            guard items == totalItems || Date().timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = Date()
            let width = 24, filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            FileHandle.standardError.write(Data("\r\(bar) \(text)\u{1B}[K".utf8))
            if items == totalItems { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile else { return }
            lastDecile = decile
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data(("vacekit: " + text + "\n").utf8))
}
