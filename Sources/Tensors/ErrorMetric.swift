/// The one accuracy measure of VaceKit: `validate`, `bench` and the tests all compare an output with
/// its reference through `ErrorMetric.compare`, so a NaN or a short output can never pass anywhere.
///
/// - relative L2: ‖actual − expected‖ / ‖expected‖ (‖diff‖ when the reference is all zeros);
/// - max |Δ|: the largest absolute difference;
/// - cosine: ⟨actual, expected⟩ / (‖actual‖·‖expected‖) (1 when both are zero).
///
/// Any non-finite value on either side makes every figure non-passing (relative L2 and max |Δ| = ∞,
/// cosine = NaN); a length mismatch is an error, never a silent truncation.
public struct ErrorMetric: Sendable, CustomStringConvertible {
    public var relativeL2: Double
    public var maxAbs: Double
    public var cosine: Double
    /// Number of compared values.
    public var count: Int

    public var isFinite: Bool { relativeL2.isFinite && maxAbs.isFinite }

    /// True when the comparison is finite and within `bound` (relative L2).
    public func within(_ bound: Double) -> Bool { isFinite && relativeL2 <= bound }

    public var description: String {
        "relative L2 \(Self.format(relativeL2)), max |Δ| \(Self.format(maxAbs)), cosine \(Self.format(cosine, digits: 6))"
    }

    static func format(_ x: Double, digits: Int = 3) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : "inf" }
        return x == 0 ? "0" : String(format: "%.\(digits)e", x)
    }

    /// Compares two sequences of the same length (throws naming `what` otherwise).
    public static func compare<A: Collection, E: Collection>(_ actual: A, _ expected: E, what: String = "output") throws -> ErrorMetric
    where A.Element: BinaryFloatingPoint, E.Element: BinaryFloatingPoint {
        guard actual.count == expected.count else {
            throw TensorError("compare", "\(what): \(actual.count) values against a reference of \(expected.count)")
        }
        var diff = 0.0, norm = 0.0, actualNorm = 0.0, dot = 0.0, worst = 0.0
        var finite = true
        for (a, e) in zip(actual, expected) {
            let (x, y) = (Double(a), Double(e))
            guard x.isFinite, y.isFinite else { finite = false; break }
            let d = x - y
            diff += d * d
            norm += y * y
            actualNorm += x * x
            dot += x * y
            worst = max(worst, abs(d))
        }
        guard finite else { return ErrorMetric(relativeL2: .infinity, maxAbs: .infinity, cosine: .nan, count: actual.count) }
        let relative = norm > 0 ? (diff / norm).squareRoot() : diff.squareRoot()
        let denominator = (norm * actualNorm).squareRoot()
        let cosine = denominator > 0 ? dot / denominator : (norm == 0 && actualNorm == 0 ? 1 : 0)
        return ErrorMetric(relativeL2: relative, maxAbs: worst, cosine: cosine, count: actual.count)
    }

    /// Compares two tensors' values with their shapes: a shape mismatch is an error naming both.
    public static func compare(_ actual: [Float], shape actualShape: Shape, _ expected: [Float], shape expectedShape: Shape,
                               what: String = "output") throws -> ErrorMetric {
        guard actualShape == expectedShape else {
            throw TensorError("compare", "\(what): shape \(actualShape) against a reference of shape \(expectedShape)")
        }
        return try compare(actual, expected, what: what)
    }
}
