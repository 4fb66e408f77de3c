import MemoryCore
import Testing

/// Word-shingle Jaccard: planted near-duplicates match, near-misses do not.
@Suite struct NearDuplicateTests {
    let detector = NearDuplicate()

    @Test func sameWordsDifferentCaseAndPunctuationMatch() {
        #expect(detector.similarity("The cat sat on the mat.", "the CAT sat on the mat") == 1)
    }

    @Test func oneChangedWordInALongTextStillMatches() {
        let a =
            "the meeting with the design team moved from tuesday morning to thursday afternoon in room four on the third floor"
        let b =
            "the meeting with the design team moved from tuesday morning to thursday afternoon in room four on the second floor"
        #expect(detector.similarity(a, b) >= 0.8)
        #expect(detector.matches(a, b))
    }

    @Test func aDifferentSentenceOnTheSameSubjectDoesNotMatch() {
        #expect(!detector.matches("the cat sat on the mat", "the cat slept under the mat all day"))
    }

    @Test func shortTextsAreOneShingle() {
        #expect(detector.shingles("hello world") == ["hello world"])
        #expect(detector.matches("Hello, world", "hello world"))
        #expect(!detector.matches("hello world", "hello there"))
    }

    @Test func jaccardOfDisjointSetsIsZero() {
        #expect(NearDuplicate.jaccard(["a"], ["b"]) == 0)
        #expect(NearDuplicate.jaccard([], []) == 1)
    }

    @Test func lookupWordsAreTheRarestWithinTheBudgetOrElseTheRarest() {
        let known = [(word: "common", items: 5000), (word: "rare", items: 3), (word: "mid", items: 800), (word: "odd", items: 1)]
        #expect(NearDuplicate.lookupWords(known, count: 5, budget: 2000) == ["odd", "rare", "mid"])
        #expect(NearDuplicate.lookupWords(known, count: 2, budget: 2000) == ["odd", "rare"])
        #expect(NearDuplicate.lookupWords([("common", 5000), ("mid", 800)], count: 5, budget: 500) == ["mid", "common"])
        #expect(NearDuplicate.lookupWords([], count: 5).isEmpty)
    }

    /// A text lacking words of another bounds their similarity: the shingles holding those words
    /// are outside the intersection. The bound never rules out a real near-duplicate.
    @Test func aProfileRulesOutTextsLackingTooManyOfItsWords() {
        let text = "alpha bravo charlie delta echo foxtrot golf hotel india juliet"
        let profile = detector.profile(text)
        #expect(profile.shingles == detector.shingles(text))
        #expect(profile.canMatch { $0 == "juliet" }, "one shingle of eight: at most 0.875")
        #expect(!profile.canMatch { $0 == "echo" }, "three shingles of eight: at most 0.625")
        #expect(profile.canMatch { _ in false })
        let changedEnd = "alpha bravo charlie delta echo foxtrot golf hotel india kilo"
        #expect(detector.similarity(text, changedEnd) <= 7.0 / 8.0)
        let changedMiddle = "alpha bravo charlie delta xray foxtrot golf hotel india juliet"
        #expect(!detector.matches(text, changedMiddle))
        #expect(detector.profile("").canMatch { _ in true })
    }

    /// The scan of a candidate's text answers as asking about each word does, with the terms
    /// counted from the text: over texts and edits of them in mixed case and punctuation, and
    /// never rules out a real near-duplicate. A text with a non-ASCII byte is not scanned.
    @Test func aCandidatesTextIsScannedForTheWordsItLacks() {
        var draws = Draws(state: 7)
        func next(_ n: Int) -> Int { draws.next(n) }
        let vocabulary = (0..<60).map { "w\($0)" } + ["Alpha", "BRAVO", "x9"]
        var ruledOut = 0
        for _ in 0..<500 {
            let words = (0..<(1 + next(30))).map { _ in vocabulary[next(vocabulary.count)] }
            let profile = detector.profile(words.joined(separator: " "))
            for _ in 0..<10 {
                var edit = words
                for _ in 0..<next(6) { edit[next(edit.count)] = vocabulary[next(vocabulary.count)] }
                let text = edit.map { next(3) == 0 ? $0.uppercased() + [",", ".", "!", ""][next(4)] : $0 }
                    .joined(separator: ["  ", " ", "\n", "-"][next(4)])
                let held = TermCounts(text)
                let expected = profile.canMatch { held.counts[String($0)] == nil }
                #expect(profile.canMatch(asciiText: text) == expected, "\(words) -> \(text)")
                if !expected { ruledOut += 1 }
                if detector.matches(words.joined(separator: " "), text) { #expect(profile.canMatch(asciiText: text) == true) }
            }
        }
        #expect(ruledOut > 500)
        #expect(detector.profile("caf\u{E9} au lait").canMatch(asciiText: "caf\u{E9} au lait") == nil)
        #expect(detector.profile("").canMatch(asciiText: "anything") == true)
    }

    /// A signature holds each of its text's words; a candidate ruled out by its signature is
    /// ruled out by its words too (a word the signature lacks is lacked), and the signature rules
    /// out most of what the words do.
    @Test func aSignatureRulesOutOnlyWhatTheWordsDo() {
        var draws = Draws(state: 11)
        func next(_ n: Int) -> Int { draws.next(n) }
        let vocabulary = (0..<400).map { "v\($0)" }
        var byWords = 0
        var bySignature = 0
        for _ in 0..<2000 {
            let words = (0..<(3 + next(35))).map { _ in vocabulary[next(vocabulary.count)] }
            let profile = detector.profile(words.joined(separator: " "))
            var edit = words
            for _ in 0..<next(12) { edit[next(edit.count)] = vocabulary[next(vocabulary.count)] }
            let signature = NearDuplicate.WordSignature(words: edit)
            #expect(edit.allSatisfy { signature.mayHold(NearDuplicate.WordSignature(words: [$0])) })
            let held = Set(edit)
            let exact = profile.canMatch { !held.contains(String($0)) }
            let signed = profile.canMatch(signature: signature)
            #expect(!exact ? true : signed, "\(words) -> \(edit)")
            if !exact { byWords += 1 }
            if !signed { bySignature += 1 }
        }
        #expect(byWords > 500 && Double(bySignature) >= 0.8 * Double(byWords), "\(bySignature) of \(byWords)")
    }

    /// Every near-duplicate meets the lookup condition: over many texts and edits of them (words
    /// changed, dropped, added, swapped) from a small vocabulary with skewed counts (one word held
    /// by no item), each edit the index could hold at or above the threshold holds at least
    /// `least` of the lookup's words and every one of its required words.
    @Test func everyNearDuplicateMeetsTheLookupCondition() {
        var draws = Draws(state: 42)
        func next(_ n: Int) -> Int { draws.next(n) }
        let vocabulary = (0..<40).map { "w\($0)" }
        // Word i is held by about 1000 / (i + 1) items; w39 by none.
        let counts = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0 == 39 ? 0 : 1000 / ($0 + 1)) })
        var checked = 0
        var required = 0
        for _ in 0..<400 {
            let words = (0..<(3 + next(30))).map { _ in vocabulary[next(vocabulary.count)] }
            let profile = detector.profile(words.joined(separator: " "))
            guard case .read(let lookup) = profile.lookup(counts: counts, items: 1000) else { continue }
            #expect(lookup.least >= 1 && lookup.least <= lookup.words.count)
            for _ in 0..<30 {
                var edit = words
                for _ in 0...next(3) {
                    let at = next(edit.count)
                    switch next(4) {
                    case 0: edit[at] = vocabulary[next(vocabulary.count)]
                    case 1 where edit.count > 1: edit.remove(at: at)
                    case 2: edit.insert(vocabulary[next(vocabulary.count)], at: at)
                    default: edit.swapAt(at, next(edit.count))
                    }
                }
                // No item holds w39: an edit holding it is not in the index.
                let text = edit.joined(separator: " ")
                guard !edit.contains("w39"),
                    NearDuplicate.jaccard(profile.shingles, detector.shingles(text)) >= detector.threshold
                else { continue }
                checked += 1
                let held = Set(edit)
                #expect(lookup.words.filter(held.contains).count >= lookup.least, "\(words) -> \(edit)")
                #expect(lookup.required.allSatisfy(held.contains), "\(words) -> \(edit)")
            }
            if !lookup.required.isEmpty { required += 1 }
        }
        #expect(checked > 100)
        #expect(required > 10)
    }

    /// A short text of common words with one rarer word: lacking the rarer word alone loses too
    /// many shingles, so it is in every clause, and no clause is a pair of common words (at a
    /// million items such a text read a thousand rows; 15-43 ms a store).
    @Test func aWordNoNearDuplicateMayLackIsInEveryClause() {
        let text = "w2d w6 w5 w4 w0 w5 wtr w17"
        // About the counts of a million Zipf items.
        let counts = ["w0": 880_000, "w4": 300_000, "w5": 280_000, "w6": 260_000, "w17": 50_000, "w2d": 25_000, "wtr": 2_000]
        guard case .read(let lookup) = detector.profile(text).lookup(counts: counts, items: 1_000_000) else {
            Issue.record("no lookup")
            return
        }
        #expect(lookup.required == ["wtr"], "\(lookup)")
        #expect(!lookup.clauses.isEmpty && lookup.clauses.allSatisfy { $0.contains("wtr") }, "\(lookup)")
        // Cheaper than the same words without it required.
        let plain = NearDuplicate.Lookup(words: lookup.words, least: lookup.least)
        #expect(lookup.cost(counts: counts, items: 1_000_000) < plain.cost(counts: counts, items: 1_000_000))
        // A near-duplicate (case and punctuation: eight words leave room for nothing more) meets it.
        let near = "W2D, w6 w5 w4; w0 w5 WTR w17."
        #expect(detector.matches(text, near))
        #expect(lookup.required.allSatisfy(FTSQuery.words(near).contains))
        #expect(lookup.words.filter(FTSQuery.words(near).contains).count >= lookup.least)
    }

    /// A text of common words only still has an exact lookup: a near-duplicate must hold most of
    /// them together, so the condition ANDs them (one clause for a short text, where lacking any
    /// inner word loses too many shingles), rather than reading every item holding one of them.
    @Test func aTextOfCommonWordsIsLookedUpByWordsHeldTogether() {
        let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]
        let counts = Dictionary(uniqueKeysWithValues: (words + ["mike"]).enumerated().map { ($1, 9000 - 500 * $0) })
        let text = words.joined(separator: " ")
        guard case .read(let lookup) = detector.profile(text).lookup(counts: counts, items: 10000) else {
            Issue.record("no lookup")
            return
        }
        #expect(lookup.least >= 2, "\(lookup)")
        #expect(lookup.expression.contains(" AND "))
        // The planted near-duplicate (the last word changed) meets it.
        let near = words.dropLast() + ["mike"]
        #expect(detector.matches(text, near.joined(separator: " ")))
        #expect(lookup.words.filter(near.contains).count >= lookup.least)
        // Eight words: six shingles, one may be lost, so every inner word is needed: several
        // words together.
        let short = words.prefix(8).joined(separator: " ")
        guard case .read(let all) = detector.profile(short).lookup(counts: counts, items: 10000) else {
            Issue.record("no lookup")
            return
        }
        #expect(all.least >= 2, "\(all)")
        #expect(all.words.filter(words.prefix(8).contains).count >= all.least)
    }

    /// A long text with rare words is looked up by its rarest (here: two of its three rare words
    /// together, cheaper than reading every item holding one; when those hold only a few items
    /// each, reading all of them is cheaper than seeking them in each other), a word no item
    /// holds counts as lacked by all, and when those alone make the threshold unreachable
    /// nothing is read.
    @Test func lookupPrefersRareWordsAndSkipsAnIndexLackingTooMuch() {
        let text =
            "the meeting with the design team moved from tuesday morning to thursday afternoon in room four on the third floor"
        var counts = Dictionary(uniqueKeysWithValues: Set(FTSQuery.words(text)).map { ($0, 50_000) })
        counts["tuesday"] = 3000
        counts["thursday"] = 5000
        counts["design"] = 7000
        guard case .read(let lookup) = detector.profile(text).lookup(counts: counts, items: 1_000_000) else {
            Issue.record("no lookup")
            return
        }
        #expect(Set(lookup.words) == ["tuesday", "thursday", "design"])
        #expect(lookup.least == 2)
        #expect(lookup.expression == #"(("tuesday" AND ("thursday" OR "design")) OR ("thursday" AND "design"))"#)
        let near = text.replacingOccurrences(of: "third", with: "second")
        #expect(detector.matches(text, near))
        #expect(lookup.words.filter(FTSQuery.words(near).contains).count >= lookup.least)
        var few = counts
        few["tuesday"] = 3
        few["thursday"] = 5
        few["design"] = 7
        #expect(
            detector.profile(text).lookup(counts: few, items: 100_000) == .read(.init(words: ["tuesday", "thursday"], least: 1)))
        // Held by no item: "tuesday", "thursday" and "design" cover 9 of 18 shingles.
        var absent = few
        for word in ["tuesday", "thursday", "design"] { absent[word] = 0 }
        #expect(detector.profile(text).lookup(counts: absent, items: 100_000) == .nothing)
        // Only the last word unknown to the index: still a lookup, by the others.
        absent = few
        absent["floor"] = 0
        #expect(detector.profile(text).lookup(counts: absent, items: 100_000) != .nothing)
        // No word known (another script, say): no exact lookup.
        #expect(detector.profile(text).lookup(counts: [:], items: 100_000) == nil)
        #expect(detector.profile("").lookup(counts: few, items: 10) == nil)
    }
}

/// A fixed-seed generator of small numbers (a 64-bit LCG's high bits) for the randomised tests.
struct Draws {
    var state: UInt64

    /// A number in `0..<n`.
    mutating func next(_ n: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(n))
    }
}
