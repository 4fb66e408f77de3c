import Foundation
import SoulCore
import Testing

/// The rebased mapping from a conscience score in [−1, 1] to an emotion and a trust change.
@Suite struct ConscienceFeelingTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func scoresMapToEmotionsOnBothHalves() throws {
        let cases: [(Double, Emotion)] = [
            (1, .paternalLove), (0.71, .paternalLove), (0.7, .joy), (0.41, .joy), (0.35, .calm), (0.2, .protectiveConcern),
            (0.1, .focus), (0, .focus), (-0.1, .worry), (-0.3, .worry), (-0.5, .sadness), (-0.61, .anger), (-1, .anger),
        ]
        for (score, emotion) in cases { #expect(try ConscienceFeeling(score: score).emotion == emotion, "\(score)") }
        #expect(throws: SoulError(.invalid, "score: expected a number from -1 to 1, found 18.0")) {
            try ConscienceFeeling(score: 18)
        }
    }

    @Test func harmfulTextNeverRaisesTrustEvenForALovedEntity() throws {
        // Jamey 3.0: "cause physical and emotional harm" scored 7.71 → PaternalLove → trust up.
        var loved = try SoulEntity(
            name: "kid", trust: 0.5, decayRate: 0.01, emotions: [.paternalLove: 50], linkedMemories: [], createdAt: now,
            lastInteraction: now, lastDecayedAt: now)
        let change = try ConscienceFeeling(score: -2.5 / 26).apply(to: &loved, at: now)
        #expect(change < 0)
        #expect(abs(change - -(0.15 * 2.5 / 26)) < 1e-12)
        #expect(loved.emotions[.worry] == 1)
        // Property: every negative score, any history, any trust: no gain.
        for score in stride(from: -1.0, to: 0, by: 0.01) {
            for trust in [0.0, 0.3, 1.0] {
                var e = try SoulEntity(
                    name: "p", trust: trust, decayRate: 0.01, emotions: [.paternalLove: 9, .joy: 3], linkedMemories: [],
                    createdAt: now, lastInteraction: now, lastDecayedAt: now)
                #expect(try ConscienceFeeling(score: score).apply(to: &e, at: now) <= 0)
                #expect((0...1).contains(e.trust))
            }
        }
    }

    @Test func virtuousTextFollowsJameyBoost() throws {
        var e = try SoulEntity(name: "bob", at: now)
        let change = try ConscienceFeeling(score: 0.8).apply(to: &e, at: now)
        #expect(e.emotions == [.paternalLove: 1])
        #expect(abs(change - 0.15) < 1e-12)
        var neutral = try SoulEntity(name: "n", at: now)
        // "hello world" scores 0: Focus (0.4), no trust change.
        #expect(try ConscienceFeeling(score: 0).apply(to: &neutral, at: now) == 0)
        #expect(neutral.dominantEmotion == .focus)
    }
}
