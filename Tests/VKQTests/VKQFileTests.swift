import Foundation
import Testing
import Tensors
@testable import VKQ

@Suite struct VKQFileTests {
    let directory: URL
    let weights: [Float]  // [24, 64], a linear layer's matrix
    let bias: [Float]

    init() throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "vacekit-vkq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var state: UInt64 = 0x1234_5678
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
        weights = (0 ..< 24 * 64).map { _ in next() * 0.2 }
        bias = (0 ..< 24).map { _ in next() }
    }

    /// Writes `weight` as `dtype` and `bias` as f32 into a file.
    func writeFile(_ name: String, weightAs dtype: DType, zstd: Int32? = nil) throws -> URL {
        let url = directory.appending(path: name)
        let writer = try VKQWriter(url: url, expectedTensorNames: ["w", "b"])
        try writer.append(.encode(name: "w", shape: [24, 64], values: weights, as: dtype, zstdLevel: zstd, sourceName: "layer.weight", sourceDType: "F32"))
        try writer.append(.encode(name: "b", shape: [24], values: bias, as: .f32, zstdLevel: zstd))
        _ = try writer.finish(family: "test", component: "transformer", config: .object(["dim": .int(64)]),
                              source: [SourceFile(name: "in.safetensors", size: 1, xxh3: "00")],
                              converter: ConverterInfo(version: "test", recipe: "\(dtype)"))
        return url
    }

    @Test func f32RoundTripIsExactAndDataIsAligned() throws {
        let file = try VKQFile(url: writeFile("f32.vkq", weightAs: .f32))
        #expect(try file.floats("w") == weights)
        #expect(try file.floats("b") == bias)
        #expect(file.header.config["dim"]?.intValue == 64)
        #expect(file.header.tensors.allSatisfy { $0.data.offset % 4096 == 0 })
        let w = try file.record("w")
        #expect(w.sourceName == "layer.weight")
        try file.verify()
    }

    @Test(arguments: [(DType.f16, 1e-3), (.bf16, 8e-3), (.q8(group: 0), 1.5e-2), (.q8(group: 32), 1.2e-2)])
    func lossyFormatsStayWithinTheirPrecision(dtype: DType, bound: Double) throws {
        for zstd: Int32? in [nil, 3] {
            let file = try VKQFile(url: writeFile("lossy-\(dtype.name)-\(zstd ?? 0).vkq", weightAs: dtype, zstd: zstd))
            let decoded = try file.floats("w")
            let error = try ErrorMetric.compare(decoded, weights).relativeL2
            #expect(error > 0 && error < bound, "\(dtype) zstd=\(String(describing: zstd)): relative L2 \(error)")
            if case .q8 = dtype {
                let stored = try #require(file.record("w").quantizationError)
                #expect(abs(stored - error) < 1e-6, "the error recorded at conversion is the error of what is stored")
            }
        }
    }

    @Test func groupWiseQ8BeatsPerRowOnOutliers() {
        // One large weight per row ruins a per-row scale; groups isolate it.
        var w = weights
        for row in 0 ..< 24 { w[row * 64] = 25 }
        let perRow = Quantization.quantizeQ8(w, rows: 24, columns: 64, group: 0)
        let grouped = Quantization.quantizeQ8(w, rows: 24, columns: 64, group: 32)
        #expect(grouped.scales.count == 48 && perRow.scales.count == 24)
        #expect(grouped.relativeL2 < perRow.relativeL2)
    }

    @Test func zstdShrinksAndDecodesIdentically() throws {
        let raw = try VKQFile(url: writeFile("raw.vkq", weightAs: .f16))
        let packed = try VKQFile(url: writeFile("zstd.vkq", weightAs: .f16, zstd: 9))
        #expect(try packed.record("w").encoding == .zstd)
        #expect(try packed.floats("w") == raw.floats("w"))
        #expect(try packed.record("w").data.length < raw.record("w").data.length)
    }

    @Test func corruptTensorIsNamedByVerify() throws {
        let url = try writeFile("corrupt.vkq", weightAs: .q8(group: 32))
        let record = try VKQFile(url: url).record("b")
        var bytes = try Data(contentsOf: url)
        bytes[record.data.offset + 5] ^= 0x01
        try bytes.write(to: url)
        let file = try VKQFile(url: url)  // the header is intact: opening succeeds
        #expect { try file.verify() } throws: { "\($0)".contains("tensor 'b'") && "\($0)".contains("checksum") }
    }

    /// A flipped byte anywhere (preamble, header, header room, blobs, padding between and after them) is
    /// refused on open or by `verify`: each byte of the preamble, and in every other region its first and last
    /// byte and 24 more at seeded random places.
    @Test func everyFlippedByteIsDetected() throws {
        let url = try writeFile("flip-source.vkq", weightAs: .q8(group: 32))
        let good = try Data(contentsOf: url)
        let file = try VKQFile(url: url)
        let target = url.deletingLastPathComponent().appending(path: "flip.vkq")
        var missed: [Int] = []
        let blobs = file.tensors.flatMap { [$0.data, $0.scales].compactMap { $0 } }.map { $0.offset ..< $0.offset + $0.length }
            .filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
        var regions = [64 ..< file.dataOffset]
        var end = file.dataOffset
        for blob in blobs { regions += [end ..< blob.lowerBound, blob]; end = blob.upperBound }
        regions.append(end ..< good.count)
        var random = SplitMix64(seed: 11)
        var offsets = Array(0 ..< 64)
        for region in regions where !region.isEmpty {
            offsets += [region.lowerBound, region.upperBound - 1] + (0 ..< 24).map { _ in region.lowerBound + Int(random.next() % UInt64(region.count)) }
        }
        for offset in offsets {
            var bytes = good
            bytes[offset] ^= 0x10
            try bytes.write(to: target)
            do {
                try VKQFile(url: target).verify()
                missed.append(offset)
            } catch {}
        }
        #expect(missed.isEmpty, "flips not detected at \(missed.prefix(10)) of \(good.count) bytes")
        try good.write(to: target)
        try VKQFile(url: target).verify()
    }

    @Test func damagedHeaderOrTruncationIsDetected() throws {
        let url = try writeFile("h.vkq", weightAs: .f32)
        let good = try Data(contentsOf: url)
        var header = good
        header[80] ^= 0x20
        try header.write(to: url)
        #expect { try VKQFile(url: url) } throws: { "\($0)".contains("header checksum") }

        try good.prefix(good.count - 100).write(to: url)
        #expect { try VKQFile(url: url) } throws: { "\($0)".contains("truncated") }

        try Data("GGUF not this".utf8).write(to: url)
        #expect { try VKQFile(url: url) } throws: { "\($0)".contains("not a .vkq") }
    }

    @Test func abandonedWriterLeavesNothing() throws {
        let url = directory.appending(path: "abandoned.vkq")
        do {
            let writer = try VKQWriter(url: url, expectedTensorNames: ["w"])
            try writer.append(.encode(name: "w", shape: [24, 64], values: weights, as: .f32))
            #expect(FileManager.default.fileExists(atPath: writer.temporaryURL.path))
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
        #expect(!FileManager.default.fileExists(atPath: url.path + ".tmp"))
    }

    @Test func unwritableOutputIsAClearError() {
        let url = URL(fileURLWithPath: "/nonexistent-dir/x.vkq")
        #expect { try VKQWriter(url: url, expectedTensorNames: []) } throws: { "\($0)".contains("/nonexistent-dir/x.vkq.tmp") }
    }

    @Test func f16OverflowIsAnErrorNamingTheTensor() {
        #expect { try EncodedTensor.encode(name: "huge", shape: [2], values: [1, 1e6], as: .f16) } throws: { "\($0)".contains("'huge'") }
    }
}
