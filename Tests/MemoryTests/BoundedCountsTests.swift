import Testing

@testable import MemoryPlugin

/// The in-memory counts of terms stay bounded in entries and bytes, whatever the items hold.
@Suite struct BoundedCountsTests {
    /// `HotTerms` counts at most its limit of terms (it kept every distinct term ever merged),
    /// forgetting the rarest, and never counts a term longer than 64 bytes (items of 64 KiB
    /// tokens grew it by their size); a frequent term is still checked at every `checkEvery`.
    @Test func hotTermsCountABoundedNumberOfShortTerms() {
        let hot = HotTerms(seenLimit: 100)
        var checks = 0
        for round in 0..<50 {
            var batch = Dictionary(uniqueKeysWithValues: (0..<40).map { ("rare\(round)x\($0)", 1) })
            batch["common"] = 10
            batch[String(repeating: "z", count: 65) + "\(round)"] = 10
            let (_, check) = hot.classify(batch, promoted: [], checkEvery: 100)
            #expect(!check.contains { $0.hasPrefix("zzz") }, "a long term is never checked")
            checks += check.filter { $0 == "common" }.count
            #expect(hot.counted <= 100)
        }
        #expect(checks == 5, "500 items holding 'common': a check at every 100")
    }

    /// A term longer than 64 bytes is never held by `TermFrequencies`: its count is looked up
    /// every time, so the table's bytes stay bounded, and a count is never understated.
    @Test func termFrequenciesLookLongTermsUp() {
        let frequencies = TermFrequencies()
        let long = String(repeating: "y", count: 65)
        frequencies.merged(["short": 2, long: 3], items: 3)
        #expect(frequencies.held(long) == nil)
        var asked: [String] = []
        let counts = frequencies.counts(["short", long]) { words in
            asked += words
            return Dictionary(uniqueKeysWithValues: words.map { ($0, 7) })
        }
        #expect(counts[long] == 7)
        #expect(asked.contains(long))
        _ = frequencies.counts([long]) { words in
            asked += words
            return [:]
        }
        #expect(asked.filter { $0 == long }.count == 2, "not cached: asked again")
    }
}
