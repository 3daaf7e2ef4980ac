import CKernels
import Dispatch
import Foundation

/// The instruction-set level the CPU kernels may use. The kernels pick the highest level ≤ the cap that
/// the CPU runs; `VACEKIT_CPU_KERNELS=portable|avx2|avx512` sets the default cap (e.g. to test the
/// fallback on a machine that has the fast path).
public enum CPUKernelLevel: Int32, Sendable, Comparable, CustomStringConvertible {
    case portable = 0
    case avx2 = 1
    case avx512 = 2

    /// The cap from `VACEKIT_CPU_KERNELS` (unset: the highest).
    public static var environment: CPUKernelLevel { CPUKernelLevel(rawValue: vk_kernel_level_from_env()) ?? .avx512 }

    public static func < (a: CPUKernelLevel, b: CPUKernelLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }
}

/// `y[M, N] = x[M, K] · Wᵀ (+ bias)` for a weight stored as the .vkq file stores it (int8 + f16 group
/// scales, bf16 or f16, row-major [N, K]), on all cores, with the CPU's int8 / bf16 dot-product
/// instructions where it has them.
///
/// The weight is used in place: nothing is repacked at load (each thread packs 4 blocks of 256 k × 16..32
/// columns into L1/L2 right before sweeping all rows of x over them; W8A8 on AVX-512 packs whole rows of k,
/// so that each output tile is written once), so the type holds pointers only, and the memory they
/// point into (e.g. the file mapping) must outlive it.
public struct QuantizedMatmul: @unchecked Sendable {
    /// How activations meet a q8 weight.
    public enum Mode: Sendable, CustomStringConvertible {
        /// x quantized per row to int8 on the fly (scale = max|x| / 127); int32 dot products per weight
        /// group. Fastest; error ≈ 4e-3 relative L2 on top of the weight's own quantization.
        case w8a8
        /// x kept at 16 bits: bf16 on CPUs with AVX512_BF16 (error ≈ 1.5e-3 on top of the weight's own
        /// quantization), int16 per row on AVX2 (same int kernel as W8A8, error ≈ 1e-5), f32 in the
        /// portable path.
        case w8a16

        var code: Int32 { self == .w8a8 ? Int32(vk_mode_w8a8) : Int32(vk_mode_w8a16) }
        public var description: String { self == .w8a8 ? "w8a8" : "w8a16" }

        /// W8A8 where the CPU has a native int8 dot product (AVX-512 VNNI: 64 multiply-adds per
        /// instruction, about 2× the bf16 or int16 paths on the DiT shapes, BENCHMARKS.md) and the
        /// kernel cap allows it; W8A16 elsewhere, where W8A8 is no faster (AVX2) and costs accuracy.
        /// The same rule as the Vulkan backend's: int8 activations where the hardware makes them pay.
        public static func automatic(cap: CPUKernelLevel = .environment, features: UInt32 = vk_cpu_features()) -> Mode {
            let vnni = UInt32(vk_cpu_avx512f | vk_cpu_avx512bw | vk_cpu_avx512vnni)
            return cap >= .avx512 && features & vnni == vnni ? .w8a8 : .w8a16
        }

        /// `VACEKIT_Q8_MODE=w8a8|w8a16`, else `automatic`.
        public static var environment: Mode {
            switch ProcessInfo.processInfo.environment["VACEKIT_Q8_MODE"] {
            case "w8a8": .w8a8
            case "w8a16": .w8a16
            default: automatic()
            }
        }
    }

    /// A weight matrix [rows = output features, columns = input features] in the .vkq layout.
    public enum Weight {
        /// int8 values [rows, columns] and f16 scales [rows, columns / group]; group 0 = one scale per row.
        case q8(values: UnsafeRawBufferPointer, scales: UnsafeRawBufferPointer, group: Int)
        /// bf16 bit patterns [rows, columns].
        case bf16(UnsafeRawBufferPointer)
        /// f16 bit patterns [rows, columns].
        case f16(UnsafeRawBufferPointer)
    }

    /// Output features (rows of W).
    public let outFeatures: Int
    /// Input features (columns of W).
    public let inFeatures: Int
    /// Whether the weight is q8 (so that `Mode` matters).
    public let isQuantized: Bool
    private let weight: vk_weight
    private let plans: [vk_gemm_plan]  // [w8a8, w8a16]; the same plan twice for bf16 / f16 weights

    /// Wraps a weight. Throws when the buffers do not hold rows × columns elements (and the scales), or
    /// the group does not divide a row.
    public init(_ weight: Weight, rows: Int, columns: Int, kernelLevel: CPUKernelLevel = .environment) throws {
        guard rows > 0, columns > 0, rows <= Int(Int32.max), columns <= Int(Int32.max) else {
            throw QuantizedMatmulError.invalidShape(rows: rows, columns: columns)
        }
        var w = vk_weight()
        w.n = Int32(rows)
        w.k = Int32(columns)
        switch weight {
        case .q8(let values, let scales, let group):
            guard group >= 0, group == 0 || columns % group == 0 else {
                throw QuantizedMatmulError.groupDoesNotDivideRow(group: group, columns: columns)
            }
            let groups = group == 0 || group == columns ? 1 : columns / group
            try Self.check("int8 values", values.count, rows * columns)
            try Self.check("f16 scales (bytes)", scales.count, rows * groups * 2)
            w.kind = Int32(vk_weight_q8)
            w.group = Int32(group)
            w.data = values.baseAddress
            w.scales = scales.baseAddress?.assumingMemoryBound(to: UInt16.self)
        case .bf16(let values), .f16(let values):
            try Self.check("16-bit values (bytes)", values.count, rows * columns * 2)
            if case .bf16 = weight { w.kind = Int32(vk_weight_bf16) } else { w.kind = Int32(vk_weight_f16) }
            w.data = values.baseAddress
        }
        var plans: [vk_gemm_plan] = []
        for mode in [Mode.w8a8, .w8a16] {
            var plan = vk_gemm_plan()
            guard vk_gemm_plan_make(&w, mode.code, kernelLevel.rawValue, &plan) == 0 else {
                throw QuantizedMatmulError.invalidShape(rows: rows, columns: columns)
            }
            plans.append(plan)
        }
        self.weight = w
        self.plans = plans
        self.outFeatures = rows
        self.inFeatures = columns
        if case .q8 = weight { isQuantized = true } else { isQuantized = false }
    }

    private static func check(_ what: String, _ actual: Int, _ expected: Int) throws {
        if actual != expected { throw QuantizedMatmulError.bufferSize(what, expected: expected, actual: actual) }
    }

    /// The kernel a mode runs, e.g. "avx512 int8 8×32", "avx2 int16·int8 6×16" or "portable f32 4×16".
    public func kernelDescription(mode: Mode) -> String {
        let plan = plans[mode == .w8a8 ? 0 : 1]
        let level = CPUKernelLevel(rawValue: plan.level) ?? .portable
        let kind = plan.kernel == Int32(vk_kernel_i8) ? (plan.act_levels > 127 ? "int16·int8" : "int8")
            : plan.kernel == Int32(vk_kernel_bf16) ? "bf16" : "f32"
        return "\(level) \(kind) \(plan.mr)×\(plan.nr)"
    }

    /// The level a mode actually runs at (≤ the cap given at init).
    public func kernelLevel(mode: Mode) -> CPUKernelLevel {
        CPUKernelLevel(rawValue: plans[mode == .w8a8 ? 0 : 1].level) ?? .portable
    }

    /// `out[m, N] = x[m, K] · Wᵀ + bias`, on `workspace.threads` threads. `mode` only matters for q8.
    /// `x` and `out` must not overlap. Scratch comes from `workspace` (grown, never shrunk; one call at a
    /// time per workspace).
    public func apply(
        x: UnsafePointer<Float>, m: Int, bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
        mode: Mode = .w8a16, workspace: GEMMWorkspace = .shared
    ) {
        guard m > 0 else { return }
        precondition(m <= Int(Int32.max), "QuantizedMatmul.apply: m = \(m) rows is more than the kernels take")
        var plan = plans[mode == .w8a8 ? 0 : 1]
        let activationBytes = vk_gemm_act_bytes(&plan, Int32(m)), scratchBytes = vk_gemm_scratch_bytes(&plan)
        workspace.withScratch(activationBytes: activationBytes, rows: m, scratchBytes: scratchBytes) { scratch in
            let call = GEMMCall(plan: plan, weight: weight, x: x, m: m, bias: bias, out: out, scratch: scratch)
            let threads = scratch.threads
            // 1. Activations → int8 / bf16, by rows.
            if plan.act_bytes > 0 {
                let chunks = min(threads, max(1, m / 8))
                let rowsPerChunk = (m + chunks - 1) / chunks
                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                    call.prepare(rows: c * rowsPerChunk ..< min(m, (c + 1) * rowsPerChunk))
                }
            }
            // 2. Output columns in chunks of a few panels, claimed one by one by the workers, so that a
            // core slowed by other work takes fewer.
            let panels = (outFeatures + Int(plan.nr) - 1) / Int(plan.nr)
            let panelsPerChunk = max(1, min(4, panels / (threads * 4)))
            let chunkCount = (panels + panelsPerChunk - 1) / panelsPerChunk
            let columnsPerChunk = panelsPerChunk * Int(plan.nr)
            DispatchQueue.concurrentPerform(iterations: min(threads, chunkCount)) { worker in
                while true {
                    let chunk = Int(vk_claim_next(scratch.counter))
                    if chunk >= chunkCount { break }
                    call.columns(chunk * columnsPerChunk ..< min(outFeatures, (chunk + 1) * columnsPerChunk), worker: worker)
                }
            }
        }
    }
}

/// Everything the threads of one `apply` share; each writes disjoint rows (prepare) or columns (columns).
private struct GEMMCall: @unchecked Sendable {
    var plan: vk_gemm_plan
    var weight: vk_weight
    let x: UnsafePointer<Float>
    let m: Int
    let bias: UnsafePointer<Float>?
    let out: UnsafeMutablePointer<Float>
    let scratch: GEMMScratch

    func prepare(rows: Range<Int>) {
        guard !rows.isEmpty else { return }
        var plan = plan
        vk_gemm_prepare(&plan, x, weight.k, Int32(rows.lowerBound), Int32(rows.upperBound),
                        scratch.activations, scratch.rowScales)
    }

    func columns(_ columns: Range<Int>, worker: Int) {
        var plan = plan, weight = weight
        vk_gemm_columns(&plan, &weight, x, scratch.activations, scratch.rowScales, Int32(m), bias, out,
                        Int32(columns.lowerBound), Int32(columns.upperBound),
                        scratch.packing + worker * scratch.packingStride)
    }
}

/// The scratch of one call, carved from a `GEMMWorkspace`.
private struct GEMMScratch: @unchecked Sendable {
    let activations: UnsafeMutableRawPointer
    let rowScales: UnsafeMutablePointer<Float>
    let packing: UnsafeMutableRawPointer
    let packingStride: Int
    let threads: Int
    let counter: UnsafeMutablePointer<Int32>
}

/// Why a weight cannot be wrapped.
public enum QuantizedMatmulError: Error, CustomStringConvertible {
    case invalidShape(rows: Int, columns: Int)
    case groupDoesNotDivideRow(group: Int, columns: Int)
    case bufferSize(String, expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .invalidShape(let rows, let columns):
            "QuantizedMatmul: weight shape [\(rows), \(columns)] is empty or too large for the CPU kernels"
        case .groupDoesNotDivideRow(let group, let columns):
            "QuantizedMatmul: q8 group \(group) does not divide a row of \(columns) (use 0 for one scale per row)"
        case .bufferSize(let what, let expected, let actual):
            "QuantizedMatmul: \(what): expected \(expected), got \(actual)"
        }
    }
}

/// Scratch memory of `QuantizedMatmul.apply`, kept between calls so that a forward pass allocates once:
/// the prepared activations (≤ 2 bytes per x element), the per-row scales, and one packing buffer per
/// thread (4 packed panels: ~35 KiB for AVX2, ~70 KiB for AVX-512 bf16, 128 bytes per k of the weight for
/// AVX-512 W8A8, e.g. 1.1 MiB at k = 8960). Calls on one workspace run one at a time.
public final class GEMMWorkspace: @unchecked Sendable {
    /// The workspace calls use unless given another.
    public static let shared = GEMMWorkspace()

    /// Threads a call runs on (default: the active cores).
    public var threads: Int {
        get { lock.withLock { threadCount } }
        set { lock.withLock { threadCount = max(1, newValue) } }
    }

    private let lock = NSLock()
    private var threadCount = ProcessInfo.processInfo.activeProcessorCount
    private var activations = AlignedBuffer()
    private var rowScales = AlignedBuffer()
    private var scratch = AlignedBuffer()

    public init() {}

    deinit {
        activations.release()
        rowScales.release()
        scratch.release()
    }

    /// Bytes held now.
    public var bytes: Int { lock.withLock { activations.capacity + rowScales.capacity + scratch.capacity } }

    fileprivate func withScratch(activationBytes: Int, rows: Int, scratchBytes: Int, _ body: (GEMMScratch) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        let stride = (scratchBytes + 63) & ~63
        activations.reserve(max(activationBytes, 64))
        rowScales.reserve(max(rows * 4, 64))
        scratch.reserve(stride * threadCount + 64)
        // The work counter sits in the last 64 bytes of the packing scratch (its own cache line).
        let counter = (scratch.pointer + stride * threadCount).assumingMemoryBound(to: Int32.self)
        counter.pointee = 0
        body(GEMMScratch(activations: activations.pointer, rowScales: rowScales.pointer.assumingMemoryBound(to: Float.self),
                         packing: scratch.pointer, packingStride: stride, threads: threadCount, counter: counter))
    }
}

/// A 64-byte-aligned byte buffer that only grows.
private struct AlignedBuffer {
    private(set) var pointer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
    private(set) var capacity = 64

    mutating func reserve(_ bytes: Int) {
        guard bytes > capacity else { return }
        pointer.deallocate()
        pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        capacity = bytes
    }

    func release() { pointer.deallocate() }
}
