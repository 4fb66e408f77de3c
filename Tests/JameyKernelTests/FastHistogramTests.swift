import Testing

@testable import JameyKernel

/// The bus's lock-free handler-duration histogram: buckets by upper bound (inclusive), sums and
/// counts, one family line, and the text swift-prometheus writes for the same figures.
@Suite struct FastHistogramTests {
    @Test func valuesLandInTheirBucketsAndRenderCumulatively() {
        let family = FastHistograms(name: "t_seconds", help: "T", bounds: [.microseconds(1), .microseconds(5)])
        let a = family.histogram(dimensions: [("plugin", "a")])
        for value: Int64 in [-3, 500, 1000, 1001, 5000, 7000] { a.recordNanoseconds(value) }
        #expect(family.histogram(dimensions: [("plugin", "a")]) === a, "one histogram per label set")
        family.histogram(dimensions: [("plugin", "b\"q")]).recordNanoseconds(2_500_000_000)
        var text = ""
        family.render(into: &text)
        #expect(
            text == """
                # HELP t_seconds T
                # TYPE t_seconds histogram
                t_seconds_bucket{plugin="a",le="0.000001"} 3
                t_seconds_bucket{plugin="a",le="0.000005"} 5
                t_seconds_bucket{plugin="a",le="+Inf"} 6
                t_seconds_sum{plugin="a"} 0.000014501
                t_seconds_count{plugin="a"} 6
                t_seconds_bucket{plugin="b\\"q",le="0.000001"} 0
                t_seconds_bucket{plugin="b\\"q",le="0.000005"} 0
                t_seconds_bucket{plugin="b\\"q",le="+Inf"} 1
                t_seconds_sum{plugin="b\\"q"} 2.5
                t_seconds_count{plugin="b\\"q"} 1

                """)
    }

    @Test func aFamilyWithoutLabelSetsRendersNothing() {
        var text = ""
        FastHistograms(name: "t_seconds", help: "T", bounds: [.seconds(1)]).render(into: &text)
        #expect(text.isEmpty)
    }

    @Test func concurrentRecordsAreAllCounted() async {
        let histogram = FastHistograms(name: "t", help: "T", bounds: [.microseconds(1)]).histogram(dimensions: [])
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { for value in 0..<10_000 { histogram.recordNanoseconds(Int64(value % 2000)) } } }
        }
        #expect(histogram.count == 40_000)
        #expect(histogram.bucket(0) == 4 * 5 * 1001)
        #expect(histogram.bucket(1) == 40_000 - 4 * 5 * 1001)
        #expect(histogram.sumNanoseconds == 4 * 5 * UInt64((0..<2000).reduce(0, +)))
    }
}
