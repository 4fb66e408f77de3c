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
}
