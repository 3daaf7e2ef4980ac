// swift-tools-version:6.1
// VaceKit: the VACE video models (Wan2.1-VACE, VACE-LTX-Video) on Vulkan and CPU.
// Imports go one way: vacekit → Pipeline → Models → Tensors ← backends; Checkpoints → VKQ.
import PackageDescription

let package = Package(
    name: "VaceKit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vacekit", targets: ["vacekit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries (Debian packages installed by scripts/setup).
        .systemLibrary(name: "CVulkan", pkgConfig: "vulkan", providers: [.apt(["libvulkan-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),
        .systemLibrary(
            name: "CFFmpeg", pkgConfig: "libavcodec",
            providers: [.apt(["libavcodec-dev", "libavformat-dev", "libavutil-dev", "libswscale-dev"])]),

        // Compiles Shaders/*.comp with glslc and embeds the SPIR-V words as Swift arrays.
        .plugin(name: "GLSLCompile", capability: .buildTool()),
        // Embeds converters/*.json (the checkpoint key maps) as Swift strings.
        .plugin(name: "EmbedKeyMaps", capability: .buildTool()),

        .target(name: "Tensors"),
        .target(name: "VKQ", dependencies: ["Tensors", "CZstd", "CXXHash"]),
        .target(name: "Checkpoints", dependencies: ["Tensors", "VKQ"], plugins: ["EmbedKeyMaps"]),
        // C kernels with per-function target attributes (AVX-512 VNNI/BF16, AVX2) and run-time dispatch.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "CPUBackend", dependencies: ["Tensors", "COpenBLAS", "CKernels"]),
        .target(name: "VulkanBackend", dependencies: ["Tensors", "CVulkan"], plugins: ["GLSLCompile"]),
        .target(name: "Media", dependencies: ["CFFmpeg"]),
        // A C shim over libsentencepiece's C++ API (Debian libsentencepiece-dev), and the T5 / umT5
        // tokenizers with each pipeline's prompt clean-up on top of it (used by encode-text and generate).
        .target(name: "CSentencePiece", linkerSettings: [.linkedLibrary("sentencepiece")]),
        .target(name: "TextTokenizers", dependencies: ["Tensors", "CSentencePiece"]),
        // Models are written against the Backend protocol only (../shared/specs/style.md).
        .target(name: "Models", dependencies: ["Tensors"]),
        // The VCU, task builders, samplers and the generation loop: models and tensors only, never a backend.
        .target(name: "Pipeline", dependencies: ["Models", "Tensors"]),
        // Backend choice and fallback (CPU, Vulkan), shared by the CLI and library users.
        .target(name: "Runtime", dependencies: ["Tensors", "CPUBackend", "VulkanBackend"]),
        // The op table and float64 references every backend's tests run (test support, not shipped).
        .target(name: "BackendConformance", dependencies: ["Tensors", "VKQ"]),
        // The weight provider that changes one tensor, shared by the model, pipeline, text and validation tests.
        .target(name: "TestSupport", dependencies: ["Tensors", "VKQ"]),
        // Layer-by-layer validation against a reference dump: one target per model family.
        .target(name: "Validation", dependencies: ["Tensors", "Checkpoints", "Models"]),
        // The benchmark harnesses behind `vacekit bench`: one timing loop, one list of shapes.
        .target(name: "Benchmarks", dependencies: ["Tensors", "VKQ", "CPUBackend", "VulkanBackend", "Models", "TextTokenizers"]),
        .executableTarget(
            name: "vacekit",
            dependencies: [
                "Tensors", "VKQ", "Checkpoints", "CPUBackend", "VulkanBackend", "Media", "Models", "TextTokenizers",
                "Pipeline", "Runtime", "Validation", "Benchmarks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "VKQTests", dependencies: ["VKQ"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"]),
        .testTarget(name: "CPUBackendTests", dependencies: ["CPUBackend", "BackendConformance"]),
        .testTarget(name: "VulkanBackendTests", dependencies: ["VulkanBackend", "BackendConformance", "CPUBackend"]),
        .testTarget(name: "MediaTests", dependencies: ["Media", "TestSupport"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Models", "CPUBackend", "VulkanBackend", "VKQ", "Checkpoints", "Media", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "CPUBackend", "VulkanBackend", "VKQ", "Checkpoints", "TestSupport"]),
        // Runs the built `vacekit` binary: the command lines scripts rely on, and their errors.
        .testTarget(name: "TextEncoderTests", dependencies: ["Models", "TextTokenizers", "CPUBackend", "VulkanBackend", "VKQ", "Checkpoints", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["vacekit", "Checkpoints", "Tensors", "Media"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "VulkanBackend"]),
        .testTarget(name: "ValidationTests", dependencies: ["Validation", "Models", "CPUBackend", "VKQ", "Checkpoints", "Tensors", "TestSupport"]),
    ]
)
