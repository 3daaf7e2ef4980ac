import ArgumentParser
import Benchmarks
import CPUBackend
import Foundation
import Models
import Runtime
import Tensors
import VKQ
import VulkanBackend

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure ops and model forwards (see BENCHMARKS.md).",
        subcommands: [BenchOpsCommand.self, BenchWanCommand.self, BenchLTXCommand.self, BenchVAECommand.self, BenchLTXVAECommand.self, BenchT5Command.self,
                      BenchGEMMCommand.self, BenchElementwiseCommand.self])
}

struct BenchOpsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "GEMM on the Wan/LTX DiT shapes per weight dtype, attention, and a VAE conv3d.")

    @Option(help: "cpu, vulkan or vulkan:N.")
    var device: String = "cpu"

    @Flag(help: "A reduced set (64-row GEMMs, 256-token attention) for slow devices such as lavapipe.")
    var quick = false

    @Flag(help: "GPU sizes: 4680-token GEMMs, attention at 4680/16380/32760 tokens (compare with converters/reference/bench_torch_cuda.py).")
    var gpuSizes = false

    @Option(help: "Timed runs per op (best is kept).")
    var runs = 3

    @Option(help: "Activation precision on Vulkan: f32 or f16 (f16 is what a GPU runs, and what its matrix cores need).")
    var activations = "f32"

    @Flag(help: "Print a JSON list of {op, shape, dtype, seconds, gflops}.")
    var json = false

    func run() throws {
        let backend = try DeviceOption.backend(device, activations: activations)
        guard !(quick && gpuSizes) else { throw ValidationError("--quick and --gpu-sizes exclude each other") }
        var rows = try OpsBenchmark(backend: backend, quick: quick, runs: runs, gpuSizes: gpuSizes).rows(dtypes: [.f32, .f16, .bf16])
        // q8 in both modes, each as rows of its own (`q8a16`, `q8a8`; `/g32` for groups of 32): W8A16
        // (16-bit activations) and W8A8 (int8 activations; on Vulkan only with the integer dot product).
        // The backend's automatic choice is printed with the table.
        var q8Backends: [(any Backend, String)] = []
        if backend is CPUBackend { q8Backends = [(CPUBackend(q8Mode: .w8a16), "q8a16"), (CPUBackend(q8Mode: .w8a8), "q8a8")] }
        if let vulkan = backend as? VulkanBackend {
            q8Backends = [(try VulkanBackend(device: vulkan.device, activations: vulkan.activations, q8Mode: .w8a16), "q8a16")]
            if vulkan.q8Kernel(.w8a8) == .integerDotProduct {
                q8Backends.append((try VulkanBackend(device: vulkan.device, activations: vulkan.activations, q8Mode: .w8a8), "q8a8"))
            }
        }
        for (q8Backend, label) in q8Backends {
            rows += try OpsBenchmark(backend: q8Backend, quick: quick, runs: runs, gpuSizes: gpuSizes).rows(dtypes: [.q8(group: 0), .q8(group: 32)], q8Label: label, linearOnly: true)
        }
        let automatic = Q8Arithmetic.int8Activations(backend) ? "q8a8" : "q8a16"
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        print("\(backend.name); q8 weights run as \(automatic) by default")
        print("| op | shape | weights | seconds | GFLOP/s |\n|---|---|---|---|---|")
        for row in rows { print(String(format: "| %@ | %@ | %@ | %.4f | %.1f |", row.op, row.shape, row.dtype, row.seconds, row.gflops)) }
    }
}

/// The options `bench wan` and `bench ltx` share (the latent and text sizes, whose defaults differ, stay in each).
struct ForwardBenchOptions: ParsableArguments {
    @Option(help: "The converted transformer (.vkq), e.g. from scripts/make_synthetic_checkpoint.py (Wan) or make_synthetic_ltx_checkpoint.py (LTX) + vacekit convert.")
    var model: String

    @Option(help: "Timed runs after one warm-up run (0: time the first call alone, e.g. for memory on a slow device).")
    var runs = 1

    @Option(help: "cpu, vulkan or vulkan:N.")
    var device: String?

    @Option(name: .customLong("weights"), help: "Block weights: resident (uploaded once) or streamed (uploaded per block, released after it: low memory).")
    var residency: WeightResidency = .resident

    @Flag(help: "Print one JSON object.")
    var json = false

    func check(latent: [Int]) throws {
        guard latent.count == 3 else { throw ValidationError("--latent takes three values: frames height width") }
        guard runs >= 0 else { throw ValidationError("--runs must be 0 or more") }
    }

    /// Prints one forward's timing: a JSON object (`extra` keys added) or one line.
    func report(_ weights: VKQWeights, backend: any Backend, tokens: Int, textTokens: Int, timing: ModelTiming,
                extra: [String: Any] = [:], deviceMemoryInLine: Bool = true) throws {
        var object: [String: Any] = [
            "model": weights.family, "recipe": weights.file.header.converter.recipe, "backend": backend.name, "tokens": tokens,
            "text_tokens": textTokens, "load_seconds": timing.loadSeconds, "seconds": timing.seconds, "peak_rss_bytes": timing.peakRSS,
            "weights": residency.rawValue, "device_memory_bytes": timing.deviceMemory,
        ]
        object.merge(extra) { $1 }
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            let deviceMemory = deviceMemoryInLine && backend is VulkanBackend ? String(format: ", device memory %.2f GB", Double(timing.deviceMemory) / 1e9) : ""
            print(String(format: "%@ (%@, %@ weights) on %@: %d tokens, forward %.2f s (%@), load %.2f s, peak RSS %.2f GB%@", weights.family,
                         weights.file.header.converter.recipe, residency.rawValue, backend.name, tokens, timing.seconds, runs == 0 ? "first call" : "best of \(runs)",
                         timing.loadSeconds, Double(timing.peakRSS) / 1e9, deviceMemory))
        }
    }
}

struct BenchWanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wan",
        abstract: "Time one Wan2.1(-VACE) transformer forward on random inputs (default: 1170 tokens, 512 text tokens).")

    @OptionGroup var options: ForwardBenchOptions

    @Option(parsing: .upToNextOption, help: "Latent frames, height and width (tokens = F · H/2 · W/2).")
    var latent: [Int] = [3, 30, 52]

    @Option(help: "Text tokens.")
    var textTokens = 512

    func run() throws {
        try options.check(latent: latent)
        let backend = try DeviceOption.backend(options.device, activations: "f32")
        let weights = try VKQWeights(url: URL(fileURLWithPath: options.model))
        let timing = try ModelBenchmarks.wan(weights, backend: backend, residency: options.residency, latent: latent, textTokens: textTokens, runs: options.runs)
        try options.report(weights, backend: backend, tokens: latent[0] * latent[1] / 2 * latent[2] / 2, textTokens: textTokens, timing: timing)
    }
}

struct BenchGEMMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "CPU GEMM at the DiT shapes: OpenBLAS f32 against the bf16 and q8 (W8A16, W8A8) kernels, with each q8 path's error (minutes).")

    @Option(help: "Indices into the DiT shape list, e.g. 0,3 (default: all).")
    var shapes: String?

    @Option(help: "Paths, e.g. q8a8,f32 (default: f32,bf16,q8,q8a8).")
    var paths: String?

    @Option(help: "Write the rows as JSON to this file (default: print them).")
    var output: String?

    func run() throws {
        let all = BenchmarkShapes.linear
        let picked = try shapes.map { list in
            try list.split(separator: ",").map { item in
                guard let i = Int(item), all.indices.contains(i) else { throw ValidationError("--shapes \(list): indices 0…\(all.count - 1)") }
                return all[i]
            }
        } ?? all
        let rows = try GEMMBenchmark.run(shapes: picked, paths: paths.map { $0.split(separator: ",").map(String.init) } ?? GEMMBenchmark.allPaths) { row in
            let error = row.relativeL2.map { String(format: "relL2 %.2e", $0) } ?? ""
            print("\(row.op) \(row.shape) \(row.dtype): \(String(format: "%.4f s %7.1f GFLOP/s", row.seconds, row.gflops)) [\(row.kernel ?? "")] \(error)")
        }
        let json = GEMMBenchmark.json(rows)
        if let output { try json.write(toFile: output, atomically: true, encoding: .utf8) } else { print(json) }
    }
}

struct BenchElementwiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elementwise",
        abstract: "Attention and the elementwise / norm ops at the Wan2.1-1.3B shapes and LTX's masked cross-attention (about a minute).")

    @Option(help: "cpu, vulkan or vulkan:N.")
    var device: String = "cpu"

    @Flag(help: "Also 4680-token self-attention.")
    var long = false

    func run() throws {
        let backend = try DeviceOption.backend(device, activations: "f32")
        _ = try ElementwiseBenchmark.run(on: backend, long: long) { op, ms in print(String(format: "bench %-44@ %9.2f ms", op, ms)) }
    }
}
