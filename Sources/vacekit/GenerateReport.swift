import Foundation
import Pipeline

#if canImport(Glibc)
import Glibc
#endif

/// Progress and summary of `generate` on stderr: a redrawn line on a terminal (stage, step i/N, s/step,
/// ETA, memory), plain lines otherwise; the summary (time per stage, peak memory) at the end, as JSON on
/// stdout with --json.
final class GenerateReport {
    let json: Bool
    let terminal = isatty(STDERR_FILENO) != 0
    var seconds: [(String, Double)] = []
    var notes: [String] = []
    var backend = ""
    var steps: [Double] = []
    private let start = Date()
    /// The peak resident memory of each stage, where Linux lets the high-water mark be reset at each stage's
    /// start (`/proc/self/clear_refs`); empty otherwise.
    private(set) var stagePeaks: [(String, Int)] = []
    private var openStage: String?
    private var runPeak = 0

    init(json: Bool) { self.json = json }

    func note(_ text: String) {
        notes.append(text)
        write("vacekit: \(text)\n")
    }

    func stage(_ name: String) {
        closeStage()
        openStage = Self.resetPeak() ? name : nil
        if terminal { write("\r\(name)…\u{1B}[K") } else { write("\(name)\n") }
    }

    func event(_ event: GenerationEvent) {
        switch event {
        case let .stage(name): stage(name)
        case let .step(index, total, secondsPerStep, _, _):
            steps.append(secondsPerStep)
            let mean = steps.reduce(0, +) / Double(steps.count)
            let eta = mean * Double(total - index - 1)
            let memory = Self.format(bytes: Self.residentBytes())
            let text = String(format: "denoise step %d/%d  %.2f s/step  ETA %@  memory %@", index + 1, total, secondsPerStep, ProgressLine.clock(eta), memory)
            if terminal {
                let width = 24, filled = (index + 1) * width / total
                write("\r" + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + " " + text + "\u{1B}[K")
                if index + 1 == total { write("\n") }
            } else {
                write(text + "\n")
            }
        }
    }

    private func closeStage() {
        let peak = Self.peakBytes()
        runPeak = max(runPeak, peak)
        if let openStage { stagePeaks.append((openStage, peak)) }
        openStage = nil
    }

    func finish(output: String, frames: Int, width: Int, height: Int, fps: Double) {
        let total = Date().timeIntervalSince(start)
        closeStage()
        let peak = runPeak
        if json {
            var object: [String: Any] = [
                "output": output, "frames": frames, "width": width, "height": height, "fps": fps, "backend": backend,
                "total_seconds": total, "peak_rss_bytes": peak, "notes": notes,
                "stages": seconds.map { ["stage": $0.0, "seconds": $0.1] },
                "stage_peak_rss_bytes": stagePeaks.map { ["stage": $0.0, "bytes": $0.1] },
            ]
            if !steps.isEmpty { object["seconds_per_step"] = steps.reduce(0, +) / Double(steps.count) }
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
        var lines = ["wrote \(output): \(frames) frames \(width)×\(height) at \(String(format: "%g", fps)) fps on \(backend)"]
        func padded(_ s: String) -> String { s.padding(toLength: 18, withPad: " ", startingAt: 0) }
        lines += seconds.map { stage, time in
            let peak = stagePeaks.last(where: { $0.0 == stage }).map { ", peak " + Self.format(bytes: $0.1) } ?? ""
            return "  " + padded(stage) + String(format: "%8.2f s", time) + peak
        }
        lines.append("  " + padded("total") + String(format: "%8.2f s, peak memory ", total) + Self.format(bytes: peak))
        write(lines.joined(separator: "\n") + "\n")
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    /// VmRSS / VmHWM of /proc/self/status in bytes (0 where unavailable).
    static func status(_ key: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }
    static func residentBytes() -> Int { status("VmRSS") }
    static func peakBytes() -> Int { status("VmHWM") }
    /// Resets VmHWM to the current resident size (Linux: "5" to /proc/self/clear_refs); false where it cannot.
    static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    static func format(bytes: Int) -> String { String(format: "%.2f GB", Double(bytes) / 1e9) }
}
