import Foundation
import SoulCore
import Testing

/// Entities: validation, emotions, links, dominant emotion.
@Suite struct EntityTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aNewEntityHasJameyDefaults() throws {
        let e = try SoulEntity(name: "bob", at: now)
        #expect(e.trust == 0.5)
        #expect(e.decayRate == 0.01)
        #expect(e.empathy == 0.5)
        #expect(e.dominantEmotion == nil)
        #expect(e.linkedMemories.isEmpty)
    }

    /// An empathy of exactly 0.7 (or 0.3) sits on the threshold whatever the order of the counts:
    /// summed as doubles in the dictionary's order it came out 0.7000000000000001 in some
    /// processes, which halved the decay rate and raised trust.
    @Test(arguments: [
        [Emotion.paternalLove, .pride, .focus], [.focus, .pride, .paternalLove], [.pride, .paternalLove, .focus],
        [.paternalLove, .paternalLove, .anger], [.joy, .joy, .calm],
    ])
    func anEmpathyOnTheThresholdIsExact(emotions: [Emotion]) throws {
        var e = try SoulEntity(name: "bob", at: now)
        for emotion in emotions { e.recordEmotion(emotion, at: now) }
        #expect(e.empathy == 0.7)
        #expect(e.decayRate == 0.01)
        #expect(SoulEntity.boost(empathy: e.empathy) == 0)
    }

    /// A new decay rate starts from when it is set: the decay owed so far is settled at the old
    /// one (10 days at 0.01 set to 0.5 took 0.5 x 10 from trust at the next decay).
    @Test func aNewDecayRateCountsFromWhenItIsSet() throws {
        var e = try SoulEntity(name: "bob", at: now)
        try e.setTrust(1, at: now)
        let later = now.addingTimeInterval(10 * 86_400)
        try e.setDecayRate(0.5, at: later)
        _ = e.decay(at: later)
        #expect(abs(e.trust - 0.9) < 1e-9, "\(e.trust)")
        _ = e.decay(at: later.addingTimeInterval(86_400))
        #expect(abs(e.trust - 0.4) < 1e-9, "\(e.trust)")
    }

    @Test func anEmpathyOfExactlyThreeTenthsIsNoPenalty() throws {
        var e = try SoulEntity(name: "bob", at: now)
        // (7 + 3·2 + 1·2) / 5 tenths = 0.3.
        for emotion in [Emotion.pride, .worry, .anger, .worry, .anger] { e.recordEmotion(emotion, at: now) }
        #expect(e.empathy == 0.3)
        #expect(e.decayRate == 0.01)
    }

    @Test func badFieldsAreRefusedNamingTheField() throws {
        #expect(throws: SoulError(.invalid, "name: expected 1 to 128 characters, found none")) {
            try SoulEntity(name: " ", at: now)
        }
        #expect(throws: SoulError(.invalid, "name: expected at most 128 characters, found 129")) {
            try SoulEntity(name: String(repeating: "x", count: 129), at: now)
        }
        #expect(throws: SoulError(.invalid, "name: control characters are not allowed")) {
            try SoulEntity(name: "a\u{7}", at: now)
        }
        var e = try SoulEntity(name: "bob", at: now)
        #expect(throws: SoulError(.invalid, "trust: expected a number from 0 to 1, found 1.5")) { try e.setTrust(1.5, at: now) }
        #expect(throws: SoulError(.invalid, "trust: expected a number from 0 to 1, found nan")) { try e.setTrust(.nan, at: now) }
        #expect(throws: SoulError(.invalid, "decay_rate: expected a number from 0 to 1 (per day), found -0.1")) {
            try e.setDecayRate(-0.1, at: Date())
        }
        #expect(throws: SoulError(.invalid, "memory_id: expected 1 to 128 characters, found 0")) { try e.link(memory: "") }
        // SQLite keeps bound text only up to a NUL: "m\u{0}x" was linked as "m".
        #expect(throws: SoulError(.invalid, "memory_id: control characters are not allowed")) {
            try e.link(memory: "m\u{0}x")
        }
        #expect(e.linkedMemories.isEmpty)
    }

    @Test func eachMemoryIsLinkedOnce() throws {
        var e = try SoulEntity(name: "bob", at: now)
        #expect(try e.link(memory: "m1"))
        #expect(try e.link(memory: "m2"))
        #expect(try !e.link(memory: "m1"))
        #expect(e.linkedMemories == ["m1", "m2"])
        // Loading duplicates (Jamey 3.0 doubled its links on every load and save) keeps one of each.
        let loaded = try SoulEntity(
            name: "bob", trust: 0.5, decayRate: 0.01, emotions: [:], linkedMemories: ["a", "b", "a", "b"], createdAt: now,
            lastInteraction: now, lastDecayedAt: now)
        #expect(loaded.linkedMemories == ["a", "b"])
    }

    @Test func dominantEmotionIsTheMostCountedWithTiesToTheHigherWeight() throws {
        var e = try SoulEntity(name: "bob", at: now)
        e.recordEmotion(.worry, at: now)
        e.recordEmotion(.joy, at: now)
        #expect(e.dominantEmotion == .joy)
        e.recordEmotion(.worry, at: now)
        #expect(e.dominantEmotion == .worry)
        #expect(e.emotions == [.worry: 2, .joy: 1])
    }

    @Test func emotionsParseLikeJameyCLIAndWider() throws {
        let cases: [(String, Emotion)] = [
            ("love", .paternalLove), ("PaternalLove", .paternalLove), ("JOY", .joy), ("protect", .protectiveConcern),
            ("pride", .pride), ("worry", .worry), ("calm", .calm), ("focus", .focus), ("sad", .sadness),
            ("angry", .anger), ("Curious", .general("Curious")), ("General(awe)", .general("awe")),
        ]
        for (text, emotion) in cases { #expect(try Emotion(parsing: text) == emotion, "\(text)") }
        #expect(Emotion.general("awe").description == "General(awe)")
        #expect(Emotion.general("awe").weight == 0.5)
        #expect(throws: SoulError(.invalid, "emotion: expected a name such as joy or love, found nothing")) {
            try Emotion(parsing: "  ")
        }
        #expect(throws: SoulError(.invalid, "emotion: expected at most 64 characters, found 65")) {
            try Emotion(parsing: String(repeating: "e", count: 65))
        }
    }

    /// A count read from the file may be Int.max: one more stays there (it stopped the process).
    @Test func aCountAtTheLargestIntegerStaysThere() throws {
        var entity = try SoulEntity(
            name: "ada", trust: 0.5, decayRate: 0.01, emotions: [.joy: .max], linkedMemories: [], createdAt: Date(),
            lastInteraction: Date(), lastDecayedAt: Date())
        entity.recordEmotion(.joy, at: Date())
        #expect(entity.emotions[.joy] == .max)
        #expect((0...1).contains(entity.trust))
    }

    /// The stored form reads back whatever the input allowed: a label of 64 code points is
    /// stored as `General(...)`, 73 of them (schemathesis found such an entity unreadable).
    @Test func everyStoredEmotionReadsBack() throws {
        let long = String(repeating: "é", count: 64)
        let emotions: [Emotion] =
            Emotion.named + [
                try Emotion(parsing: long), .general("awe"), .general("General(x)"), .general("love"),
                // A combining mark first joins "(" into one Character with it, and a prepended
                // mark last joins ")": read back by Characters they came back wrapped twice.
                try Emotion(parsing: "\u{301}abc"), try Emotion(parsing: "abc\u{600}"),
            ]
        for emotion in emotions { #expect(Emotion(stored: emotion.description) == emotion, "\(emotion)") }
        #expect(try Emotion(parsing: long) == .general(long))
    }
}
