import Benchmark
import Foundation
import Synchronization

/// Records a benchmark's figures, each iteration, into the framework (custom metrics) and into
/// the summary `scripts/bench.sh` prints (the median over the measured iterations, one TSV line
/// per figure in ``BenchPaths/summaryDirectory``).
public final class Recorder: Sendable {
    /// The benchmark suite (executable target) name.
    public let suite: String
    /// The benchmark's name.
    public let benchmark: String
    /// Its figures, in summary order.
    public let figures: [Figure]
    /// Free text for the summary's notes column (what the baseline is, ...).
    public let note: String
    private let values = Mutex<[String: [Int]]>([:])

    /// - Parameters:
    ///   - suite: the executable target.
    ///   - benchmark: the benchmark name.
    ///   - figures: what it reports.
    ///   - note: one line explaining the in-run baseline.
    public init(suite: String, benchmark: String, figures: [Figure], note: String) {
        self.suite = suite
        self.benchmark = benchmark
        self.figures = figures
        self.note = note
    }

    /// The framework configuration reporting exactly ``figures``, with their thresholds.
    public func configuration(warmup: Int, maxIterations: Int, maxDuration: Duration) -> Benchmark.Configuration {
        Benchmark.Configuration(
            metrics: figures.map(\.metric),
            units: Dictionary(uniqueKeysWithValues: figures.map { ($0.metric, BenchmarkUnits.count) }),
            warmupIterations: warmup,
            scalingFactor: .one,
            maxDuration: maxDuration,
            maxIterations: maxIterations,
            thresholds: Dictionary(uniqueKeysWithValues: figures.map { ($0.metric, $0.thresholds) }))
    }

    /// Records `value` for `figure` in this iteration (negative values are recorded as 0).
    public func record(_ benchmark: Benchmark, _ figure: Figure, _ value: Int) {
        let clamped = max(0, value)
        benchmark.measurement(figure.metric, clamped)
        guard benchmark.currentIteration >= benchmark.configuration.warmupIterations else { return }
        values.withLock { $0[figure.name, default: []].append(clamped) }
    }

    /// The median recorded for `figure` so far.
    public func median(_ figure: Figure) -> Int? {
        values.withLock { all in
            guard let v = all[figure.name], !v.isEmpty else { return nil }
            return v.sorted()[(v.count - 1) / 2]
        }
    }

    /// Writes the summary lines (benchmark, figure, median, target, met, gate, iterations, note)
    /// to `<summary dir>/<suite>/<benchmark>.tsv`. Call it from the benchmark's teardown.
    public func writeSummary() {
        let directory = BenchPaths.summaryDirectory + "/" + suite
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var lines: [String] = []
        for figure in figures {
            guard let value = median(figure) else { continue }
            let count = values.withLock { $0[figure.name]?.count ?? 0 }
            let met = figure.meets(value).map { $0 ? "met" : "NOT MET" } ?? ""
            let gate = figure.tolerance.map { "±\(Int($0))% of baseline" } ?? ""
            lines.append(
                [benchmark, figure.name, figure.format(value), figure.targetText, met, gate, "\(count)", note]
                    .joined(separator: "\t"))
        }
        let file = directory + "/" + benchmark.filter { $0.isLetter || $0.isNumber } + ".tsv"
        try? (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
    }
}

extension Benchmark {
    /// Marks the benchmark failed with `message`, also on stderr (the standalone runner does not
    /// print failure reasons).
    public func fail(_ message: String) {
        error(message)
        FileHandle.standardError.write(Data("\(name): \(message)\n".utf8))
    }
}
