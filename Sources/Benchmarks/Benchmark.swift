import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One measured op of a benchmark table: `seconds` (best of the runs) and the rate it implies. GEMM rows
/// also name the kernel and, for quantized weights, the relative L2 against float64.
public struct BenchmarkRow: Sendable, Codable, Equatable {
    public var op: String
    public var shape: String
    public var dtype: String
    public var seconds: Double
    public var gflops: Double
    public var kernel: String?
    public var relativeL2: Double?

    public init(op: String, shape: String, dtype: String, seconds: Double, gflops: Double, kernel: String? = nil, relativeL2: Double? = nil) {
        (self.op, self.shape, self.dtype, self.seconds, self.gflops, self.kernel, self.relativeL2) = (op, shape, dtype, seconds, gflops, kernel, relativeL2)
    }
}

/// One linear layer of a DiT: x [m, k] · Wᵀ, W [n, k].
public struct LinearShape: Sendable {
    /// The model (`wan2.1-1.3b`, `ltx-video-2b`) and its short name in table labels (`wan`, `ltx`).
    public let model: String
    public let short: String
    public let k: Int
    public let n: Int
    public init(model: String, short: String? = nil, k: Int, n: Int) {
        (self.model, self.short, self.k, self.n) = (model, short ?? model, k, n)
    }
    /// `wan 1536→8960`.
    public var label: String { "\(short) \(k)→\(n)" }
}

/// The shapes every benchmark of the project measures: one list.
public enum BenchmarkShapes {
    /// The linear layers of Wan2.1-1.3B (dim 1536, FFN 8960) and LTX-Video 2B (dim 2048, FFN 8192).
    public static let linear: [LinearShape] = [
        .init(model: "wan2.1-1.3b", short: "wan", k: 1536, n: 1536), .init(model: "wan2.1-1.3b", short: "wan", k: 1536, n: 8960),
        .init(model: "wan2.1-1.3b", short: "wan", k: 8960, n: 1536), .init(model: "ltx-video-2b", short: "ltx", k: 2048, n: 2048),
        .init(model: "ltx-video-2b", short: "ltx", k: 2048, n: 8192), .init(model: "ltx-video-2b", short: "ltx", k: 8192, n: 2048),
    ]
    /// Tokens of the DiT forwards: 1170 (latent 3×30×52 / 4, LTX 3×15×26), 4680 (4× the frames).
    public static let tokens = 1170
    /// (channels, new frames, height, width) of one Wan VAE decoder chunk at 480×832: middle, 1/4 and 1/2 resolution.
    public static let vaeConv = [(384, 1, 60, 104), (192, 4, 120, 208), (96, 4, 240, 416)]
}

/// The one timing loop of the benchmarks.
public enum Timing {
    /// Monotonic wall seconds of one call.
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// The best of `runs` measurements after `warmUp` (each measurement returns its own seconds, so a GPU
    /// harness can return device time).
    public static func best(runs: Int, warmUp: () throws -> Void = {}, _ measure: () throws -> Double) rethrows -> Double {
        try warmUp()
        var best = Double.infinity
        for _ in 0 ..< runs { best = min(best, try measure()) }
        return best
    }

    /// A model forward: one warm-up call, then `runs` timed calls (0: the first call alone is timed), each
    /// logged to stderr (`warm-up run 0: 1.23 s`). Returns the timed seconds.
    public static func runs(_ runs: Int, _ body: () throws -> Void) rethrows -> [Double] {
        var times: [Double] = []
        for run in 0 ... runs {
            let seconds = try Timing.seconds(body)
            if run > 0 || runs == 0 { times.append(seconds) }
            FileHandle.standardError.write(Data(String(format: "%@ run %d: %.2f s\n", run == 0 ? "warm-up" : "timed", run, seconds).utf8))
        }
        return times
    }
}

/// Peak resident set size of this process so far, in bytes.
public func peakRSS() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}
