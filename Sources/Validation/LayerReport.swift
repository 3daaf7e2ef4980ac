import Foundation
import Tensors

/// The result of a layer-by-layer validation: the error at each named point in execution order, the
/// first point where the error jumps, the final output's error, and whether it passes.
public struct LayerReport {
    public struct Point {
        public let name: String
        public let error: ErrorMetric
    }

    public var points: [Point]
    public var firstJump: String?
    public var outputName: String
    public var final: ErrorMetric
    public var noiseFloor: Double
    public var bound: Double?

    /// Why the run fails: a non-finite value anywhere, or the final output beyond the bound.
    public var failures: [String] {
        var out: [String] = []
        if let bad = points.first(where: { !$0.error.isFinite }) { out.append("point \(bad.name) is non-finite (NaN or ∞ on one side)") }
        if !final.isFinite { out.append("\(outputName) is non-finite") }
        if let bound, final.isFinite, final.relativeL2 > bound {
            out.append(String(format: "\(outputName): relative L2 %.3e exceeds --bound %.1e", final.relativeL2, bound))
        }
        return out
    }

    public var pass: Bool { failures.isEmpty }

    /// The first point whose relative L2 is above the noise floor and more than `factor` times the previous
    /// point's (the first point's previous is the exact input, 0): where a wrong or badly quantized layer shows.
    /// A non-finite error is always a jump.
    public static func firstJump(_ errors: [(name: String, relativeL2: Double)], noiseFloor: Double, factor: Double = 3) -> String? {
        var previous = 0.0
        for (name, e) in errors {
            if !e.isFinite || (e > noiseFloor && e > factor * previous) { return name }
            previous = e
        }
        return nil
    }

    /// The noise floor of a precision: below it, error growth between points is rounding, not a wrong layer.
    /// `int8Activations`: q8 weights met by W8A8 (the automatic mode on CPUs with VNNI and on GPUs with an
    /// int8 dot product), where each linear's input is rounded to 8 bits as well: one such linear alone
    /// moves a point by 1–1.4e-2 on the fixtures (the caption projection, the first context block), so
    /// the floor is 3e-2 there.
    public static func noiseFloor(weights: String, activations: String = "f32", int8Activations: Bool = false) -> Double {
        let w: Double = switch weights { case "q8": int8Activations ? 3e-2 : 1e-2; case "f16", "bf16": 1e-3; default: 1e-5 }
        return activations == "f16" ? max(w, 1e-3) : w
    }

    // MARK: printing

    static func number(_ x: Double, digits: Int = 3) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : "inf" }
        return String(format: "%.\(digits)e", x)
    }

    /// The table: point, relative L2, max |Δ|, cosine; the first jump marked.
    public func table() -> String {
        let width = max(24, (points.map(\.name) + [outputName]).map(\.count).max()! + 2)
        func row(_ name: String, _ e: ErrorMetric, _ mark: String) -> String {
            name.padding(toLength: width, withPad: " ", startingAt: 0)
                + Self.number(e.relativeL2).padding(toLength: 13, withPad: " ", startingAt: 0)
                + Self.number(e.maxAbs).padding(toLength: 13, withPad: " ", startingAt: 0)
                + Self.number(e.cosine, digits: 6).padding(toLength: 14, withPad: " ", startingAt: 0) + mark
        }
        var lines = ["point".padding(toLength: width, withPad: " ", startingAt: 0) + "relative L2  max |Δ|      cosine"]
        lines += points.map { row($0.name, $0.error, $0.name == firstJump ? "◀ first jump" : "") }
        lines.append(row("\(outputName) (output)", final, ""))
        lines.append("first jump (>3× the previous point, above the noise floor \(Self.number(noiseFloor, digits: 0))): \(firstJump ?? "none")")
        lines.append(pass ? "pass" + (bound.map { " (bound \(Self.number($0, digits: 1)))" } ?? "") : "FAIL: " + failures.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }

    /// `{"points": [{"name", "rel_l2", "max_abs", "cosine"}...], "first_jump": NAME|null, "final_rel_l2": X, "pass": BOOL}`;
    /// a non-finite figure is written as null (JSON has no NaN or ∞).
    public func json() -> String {
        func num(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
        func str(_ s: String) -> String {
            let data = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
            return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
        }
        let rows = points.map { "{\"name\": \(str($0.name)), \"rel_l2\": \(num($0.error.relativeL2)), \"max_abs\": \(num($0.error.maxAbs)), \"cosine\": \(num($0.error.cosine))}" }
        return "{\"points\": [\(rows.joined(separator: ", "))], \"first_jump\": \(firstJump.map(str) ?? "null"), "
            + "\"final_rel_l2\": \(num(final.relativeL2)), \"pass\": \(pass)}"
    }
}

/// Runs a target on a dump and compares every point and the output.
public enum LayerValidation {
    public static func run(_ target: any ValidationTarget, dump: ReferenceDump, backend: any Backend, noiseFloor: Double,
                           bound: Double? = nil) throws -> LayerReport {
        let signature = try target.signature(of: dump)
        let extra = dump.file.names.filter { !$0.hasPrefix(ReferenceDump.pointPrefix) && !signature.inputs.contains($0) && $0 != signature.output }
        guard extra.isEmpty else {
            throw ValidateError("\(dump.name): unknown tensors \(extra) (inputs: \(signature.inputs.sorted().joined(separator: ", ")); output: \(signature.output); points: point.NAME)")
        }
        let recorder = PointRecorder(backend: backend)
        let output = try target.run(dump, tap: { try recorder.record($0, $1) })
        // A dump with only the final output (no points) compares that alone.
        let expectedPoints = Set(dump.points), tapped = dump.isLayerDump ? recorder.order : []
        if let missing = tapped.first(where: { !expectedPoints.contains($0) }) {
            throw ValidateError("\(dump.name): the model taps \(tapped.count) points, the dump has \(expectedPoints.count): no point.\(missing)")
        }
        if let unused = dump.points.first(where: { !tapped.contains($0) }) {
            throw ValidateError("\(dump.name): the dump has \(expectedPoints.count) points, the model taps \(tapped.count): none at \(unused)")
        }
        var points: [LayerReport.Point] = []
        for name in tapped {
            let (actual, expected) = (try recorder.value(name), try dump.point(name))
            points.append(.init(name: name, error: try ErrorMetric.compare(actual.values, shape: actual.shape, expected.values, shape: expected.shape,
                                                                          what: "point \(name)")))
        }
        let final = try ErrorMetric.compare(try backend.floats(output), shape: output.shape, try dump.floats(signature.output),
                                            shape: try dump.shape(signature.output), what: signature.output)
        let jump = LayerReport.firstJump(points.map { ($0.name, $0.error.relativeL2) }, noiseFloor: noiseFloor)
        return LayerReport(points: points, firstJump: jump, outputName: signature.output, final: final, noiseFloor: noiseFloor, bound: bound)
    }
}
