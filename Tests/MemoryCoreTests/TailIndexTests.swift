import MemoryCore
import Testing

/// The in-memory index of pending items.
@Suite struct TailIndexTests {
    @Test func matchesAllOrAnyWordAndForgetsRemovedItems() {
        var index = TailIndex()
        index.add(seq: 1, content: "Red apple, green apple")
        index.add(seq: 2, content: "green pear")
        #expect(Set(index.matches(["apple", "green"], all: true)) == [1])
        #expect(Set(index.matches(["apple", "pear"], all: false)) == [1, 2])
        #expect(index.hits("green") == 2)
        #expect(index.tokens == 6)
        index.add(seq: 1, content: "plum")
        #expect(index.matches(["apple"], all: true).isEmpty)
        index.remove(2)
        #expect(index.matches(["green"], all: true).isEmpty)
        #expect(index.hits("green") == 0 && index.hits("pear") == 0 && index.hits("plum") == 1)
        #expect(index.resembling(TermCounts("green pear")).isEmpty)
        #expect(index.count == 1)
        #expect(index.tokens == 1)
    }

    @Test func staleEntriesAreDroppedWhileItemsKeepArriving() {
        var index = TailIndex()
        for seq in Int64(0)..<5000 {
            index.add(seq: seq, content: "stream item word\(seq % 7)")
            if seq >= 10 { index.remove(seq - 10) }
        }
        #expect(index.count == 10)
        #expect(index.postingEntries <= 2 * 10 * 3 + 1024)
        #expect(Set(index.matches(["stream", "item"], all: true)) == Set(Int64(4990)..<5000))
        #expect(index.hits("stream") == 10)
    }

    /// Replacing the text of the only item holding a term, with a text holding it too, keeps
    /// the item findable by it (forgetting the old text drops the term for a moment).
    @Test func replacingTheOnlyItemOfATermKeepsItFindable() {
        var index = TailIndex()
        index.add(seq: 1, content: "solo apple")
        index.add(seq: 1, content: "solo pear")
        #expect(index.matches(["solo"], all: true) == [1])
        #expect(index.matches(["apple"], all: true).isEmpty)
        #expect(index.hits("solo") == 1 && index.hits("apple") == 0)
        #expect(index.postingEntries == 2)
    }

    /// Each term's list stays near its live items as items leave, and a term no item holds is
    /// dropped: removing 19 990 of 20 000 items leaves the 10 items' own terms and a short list
    /// of the common one.
    @Test func eachTermsListStaysNearItsLiveItems() {
        var index = TailIndex()
        for seq in Int64(0)..<20_000 { index.add(seq: seq, content: "common rare\(seq)") }
        for seq in Int64(0)..<19_990 { index.remove(seq) }
        #expect(index.postingEntries <= 10 + (2 * 10 + TailIndex.slack + 1), "\(index.postingEntries)")
        #expect(Set(index.matches(["common"], all: true)) == Set(Int64(19_990)..<20_000))
        #expect(index.matches(["rare5"], all: false).isEmpty && index.matches(["rare19995"], all: true) == [19_995])
        #expect(index.hits("common") == 10)
    }

    /// The purge removes merged items oldest first, the order they were added in: their
    /// entries leave the fronts of the lists with them, and entries left stale at a front by an
    /// item removed out of turn go as the front reaches them. No list is left to compact.
    @Test func itemsRemovedOldestFirstLeaveNoStaleEntries() {
        var index = TailIndex()
        for seq in Int64(0)..<20_000 { index.add(seq: seq, content: "common rare\(seq)") }
        index.remove(5)
        index.add(seq: 7, content: "common other")
        #expect(index.postingEntries == 39_999, "rare5 and rare7 gone, other added, 5 stale in common's list")
        for seq in Int64(0)..<19_990 { index.remove(seq) }
        #expect(index.postingEntries == 20, "\(index.postingEntries)")
        #expect(Set(index.matches(["common"], all: true)) == Set(Int64(19_990)..<20_000))
        #expect(index.matches(["other"], all: false).isEmpty && index.hits("other") == 0)
        #expect(index.hits("common") == 10 && index.matches(["rare19999"], all: true) == [19_999])
        for seq in Int64(19_990)..<20_000 { index.remove(seq) }
        #expect(index.postingEntries == 0 && index.count == 0 && index.tokens == 0)
    }

    @Test func scoredGivesTheMatchesWithFTS5sBM25SumOverTheWords() {
        var index = TailIndex()
        index.add(seq: 7, content: "apple apple pear")
        index.add(seq: 8, content: "apple tree")
        index.add(seq: 9, content: "pear tree")
        let stats = TailIndex.Stats(rows: 100, averageLength: 5, hits: ["apple": 10, "pear": 40])
        func impact(_ f: Int, _ hits: Int64, length: Int) -> Double {
            BM25.impact(idf: BM25.idf(rows: 100, hits: hits), frequency: f, length: length, averageLength: 5)
        }
        let both = impact(2, 10, length: 3) + impact(1, 40, length: 3)
        func scored(_ words: [String], all: Bool, over floor: Double = -.infinity, skip: (Int64) -> Bool = { _ in false })
            -> [Int64: Double]
        {
            Dictionary(
                uniqueKeysWithValues: index.scored(words, all: all, stats: stats, over: floor, skip: skip).map {
                    ($0.seq, $0.impact)
                })
        }
        #expect(scored(["apple", "pear"], all: true) == [7: both])
        #expect(scored(["apple", "pear"], all: false) == [7: both, 8: impact(1, 10, length: 2), 9: impact(1, 40, length: 2)])
        for all in [true, false] {
            #expect(Set(scored(["apple", "pear"], all: all).keys) == Set(index.matches(["apple", "pear"], all: all)))
        }
        #expect(scored(["apple", "pear"], all: false, over: impact(1, 10, length: 2)) == [7: both], "over the floor only")
        #expect(scored(["apple"], all: true, skip: { $0 == 7 }) == [8: impact(1, 10, length: 2)])
        // An item changed to lose a word leaves a stale entry in that word's list: not a match.
        index.add(seq: 7, content: "pear only")
        #expect(scored(["apple"], all: true) == [8: impact(1, 10, length: 2)])
        #expect(scored(["apple", "pear"], all: true).isEmpty)
        #expect(scored(["missing"], all: false).isEmpty)
    }

    @Test func resemblingFindsItemsByTheirRarestTermsMostAlikeFirst() {
        var index = TailIndex()
        index.add(seq: 1, content: "the red fox jumps over the lazy dog")
        index.add(seq: 2, content: "the red fox jumps over the lazy cat")
        index.add(seq: 3, content: "the quick dog")
        index.add(seq: 4, content: "an unrelated note")
        for seq in Int64(10)..<60 { index.add(seq: seq, content: "the common words \(seq)") }
        let text = TermCounts("The red fox jumps over the lazy dog!")
        #expect(index.resembling(text).prefix(2) == [1, 2])
        #expect(!index.resembling(text).contains(4))
        #expect(index.resembling(text, skip: { $0 == 1 }).first == 2)
        // Only "the" fits no budget: the rarest words are read whatever they cost.
        #expect(index.resembling(TermCounts("the"), budget: 10).count == 53)
        #expect(index.resembling(TermCounts("nothing known here")).isEmpty)
        index.remove(1)
        #expect(index.resembling(text).first == 2)
    }

    /// The tail's exact candidates: the items holding at least `least` of the lookup's words
    /// and each of its required words, most held first; a planted near-duplicate of common words is among them, items holding
    /// too few of the words are not.
    @Test func candidatesHoldEnoughOfTheLookupWords() {
        var index = TailIndex()
        index.add(seq: 1, content: "alpha bravo charlie delta echo foxtrot golf hotel")
        index.add(seq: 2, content: "alpha bravo charlie delta")
        index.add(seq: 3, content: "echo foxtrot golf hotel")
        for seq in Int64(10)..<60 { index.add(seq: seq, content: "alpha bravo charlie delta echo \(seq)") }
        let lookup = NearDuplicate.Lookup(words: ["foxtrot", "golf", "hotel"], least: 2)
        #expect(lookup.clauses == [["foxtrot", "golf"], ["foxtrot", "hotel"], ["golf", "hotel"]])
        #expect(index.candidates(lookup) == [3, 1])
        #expect(index.candidates(lookup, skip: { $0 == 3 }) == [1])
        // With a required word: only items holding it, and enough words in all.
        index.add(seq: 4, content: "foxtrot hotel")
        let requiring = NearDuplicate.Lookup(words: ["foxtrot", "golf", "hotel"], least: 2, required: ["golf"])
        #expect(requiring.clauses == [["golf", "foxtrot"], ["golf", "hotel"]])
        #expect(index.candidates(requiring) == [3, 1])
        #expect(index.candidates(lookup).contains(4))
        let detector = NearDuplicate()
        index.add(seq: 5, content: "alpha bravo charlie delta echo foxtrot golf hotel kilo lima mike november")
        let text = "alpha bravo charlie delta echo foxtrot golf hotel kilo lima mike oscar"
        #expect(detector.matches(text, "alpha bravo charlie delta echo foxtrot golf hotel kilo lima mike november"))
        let counts = Dictionary(uniqueKeysWithValues: FTSQuery.words(text).map { ($0, index.hits($0)) })
        guard case .read(let plan) = detector.profile(text).lookup(counts: counts, items: index.count) else {
            Issue.record("no lookup")
            return
        }
        #expect(index.candidates(plan).contains(5), "the planted near-duplicate")
        #expect(index.candidates(plan).count < 10, "not every item holding a common word")
    }
}
