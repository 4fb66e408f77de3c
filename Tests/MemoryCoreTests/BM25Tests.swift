import Foundation
import MemoryCore
import Testing

/// The pieces of the impact-ordered search: FTS5's BM25, its tokenization, varints, the
/// bounded selection.
@Suite struct BM25Tests {
    @Test func idfFollowsFTS5AndNeverDropsToZero() {
        #expect(BM25.idf(rows: 1000, hits: 10) == log(990.5 / 10.5))
        #expect(BM25.idf(rows: 1000, hits: 900) == 1e-6)
    }

    @Test func impactGrowsWithFrequencyAndFallsWithLength() {
        let idf = BM25.idf(rows: 1000, hits: 10)
        let base = BM25.impact(idf: idf, frequency: 1, length: 10, averageLength: 20)
        #expect(BM25.impact(idf: idf, frequency: 2, length: 10, averageLength: 20) > base)
        #expect(BM25.impact(idf: idf, frequency: 1, length: 30, averageLength: 20) < base)
        #expect(BM25.rank(impact: base) == -base)
    }

    @Test func asciiTextSplitsLikeUnicode61() {
        let terms = TermCounts("Tea, TEA and tea-time: 42 cups (x2)!")
        #expect(terms.counts == ["tea": 3, "and": 1, "time": 1, "42": 1, "cups": 1, "x2": 1])
        #expect(terms.length == 8)
        #expect(terms.isExact)
    }

    @Test func otherTextFoldsCaseAndDiacritics() {
        let terms = TermCounts("Café naïve CAFÉ")
        #expect(terms.counts == ["cafe": 2, "naive": 1])
        #expect(!terms.isExact)
        #expect(TermCounts.isPlainASCII("w0x") && !TermCounts.isPlainASCII("café") && !TermCounts.isPlainASCII("Tea"))
    }

    /// A batch counted across cores gives each text's own counts, in order, at every size around
    /// the split (odd sizes, fewer texts than cores' chunks would like). ASCII texts: how others
    /// split depends on the tokenizer, which other suites install while this one runs.
    @Test func aBatchCountedAcrossCoresMatchesEachTextCountedAlone() async {
        let words = ["tea", "Cafe", "naive", "x2", "garden", "WATER", "42", "uber", "fox", "the"]
        for size in [0, 1, TermCounts.parallelBatch - 1, TermCounts.parallelBatch, TermCounts.parallelBatch + 1, 1001] {
            let texts = (0..<size).map { i in
                (0..<(3 + i % 17)).map { words[(i * 7 + $0 * 3) % words.count] }.joined(separator: " ") + " n\(i)"
            }
            let counted = await TermCounts.counting(texts)
            #expect(counted.count == size)
            #expect(counted == texts.map(TermCounts.init), "size \(size)")
        }
    }

    @Test func varintsDecodeAsSQLiteWritesThem() {
        var offset = 0
        let bytes: [UInt8] = [0x05, 0x81, 0x00, 0xFF, 0x7F]
        #expect(BM25.varint(bytes, at: &offset) == 5)
        #expect(BM25.varint(bytes, at: &offset) == 128)
        #expect(BM25.varint(bytes, at: &offset) == 0x3FFF)
        #expect(BM25.varint(bytes, at: &offset) == nil)
    }

    @Test func topImpactsKeepsTheBestInOrder() {
        var top = TopImpacts(capacity: 3)
        for (seq, impact) in [(1, 0.5), (2, 0.9), (3, 0.1), (4, 0.7), (5, 0.7), (6, 0.2)] {
            top.offer(seq: Int64(seq), impact: impact)
        }
        #expect(top.best.map(\.seq) == [2, 4, 5])
        #expect(!top.admits(0.7) && top.admits(0.71))
    }
}

/// The reply writer gives what JSONSerialization reads back, keys sorted.
@Suite struct JSONTextTests {
    @Test func writesSortedCompactJSONThatParsesBack() throws {
        let value: [String: Any] = [
            "b": [1, 2.5, true, NSNull()], "a": "quote \" backslash \\ newline \n tab \t bell \u{7} café",
            "c": ["z": 1e-6, "y": [String: Int]()], "d": 3.0, "e": -7,
        ]
        let bytes = try #require(JSONText.data(value))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"a":"quote \" backslash \\ newline \n tab \t bell \u0007 café","b":[1,2.5,true,null]"#))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(parsed["a"] as? String == value["a"] as? String)
        #expect((parsed["c"] as? [String: Any])?["z"] as? Double == 1e-6)
        #expect(parsed["d"] as? Int == 3 && parsed["e"] as? Int == -7)
        #expect(JSONText.data(["x": Double.nan]) == nil)
    }
}
