import Foundation

/// `VACEKIT_PROFILE=1`: wall time per op kind, summed, printed to stderr when the backend is released
/// (or on `report()`), slowest first.
final class OpProfiler: @unchecked Sendable {
    static let enabled = ["1", "shapes"].contains(ProcessInfo.processInfo.environment["VACEKIT_PROFILE"])
    /// `VACEKIT_PROFILE=shapes`: convolutions timed per shape and weight dtype.
    static let byShape = ProcessInfo.processInfo.environment["VACEKIT_PROFILE"] == "shapes"
    private let lock = NSLock()
    private var totals: [String: (seconds: Double, calls: Int)] = [:]

    func measure<T>(_ op: String, _ body: () throws -> T) rethrows -> T {
        guard Self.enabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            lock.withLock { totals[op, default: (0, 0)].seconds += seconds; totals[op, default: (0, 0)].calls += 1 }
        }
        return try body()
    }

    func report() {
        let rows = lock.withLock { totals }.sorted { $0.value.seconds > $1.value.seconds }
        guard !rows.isEmpty else { return }
        var text = "op profile (cpu):\n"
        for (op, total) in rows { text += String(format: "  %-16@ %8.3f s  %6d calls\n", op, total.seconds, total.calls) }
        FileHandle.standardError.write(Data(text.utf8))
    }

    deinit { report() }
}
