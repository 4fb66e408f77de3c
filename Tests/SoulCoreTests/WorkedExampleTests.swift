import Foundation
import SoulCore
import Testing

/// Jamey 3.0's worked examples (its §3.3), kept where they were right and corrected where the
/// decisions table says so.
@Suite struct WorkedExampleTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func entity(_ emotions: [Emotion: Int] = [:], trust: Double = 0.5) throws -> SoulEntity {
        try SoulEntity(
            name: "alice", trust: trust, decayRate: 0.01, emotions: emotions, linkedMemories: [], createdAt: t0,
            lastInteraction: t0, lastDecayedAt: t0)
    }

    @Test func paternalLoveThreeTimesGivesFullEmpathyAndTheLargestBoost() throws {
        var e = try entity()
        var changes: [Double] = []
        for _ in 0..<3 { changes.append(e.recordEmotion(.paternalLove, at: t0)) }
        #expect(e.empathy == 1.0)
        #expect(e.emotions == [.paternalLove: 3])
        // Each record boosts by (1.0 − 0.7)·0.5 = 0.15 (Jamey 3.0's fast inflation, kept as its formula).
        #expect(changes.map { ($0 * 1000).rounded() / 1000 } == [0.15, 0.15, 0.15])
        #expect(abs(e.trust - 0.95) < 1e-12)
        #expect(e.decayRate == 0.005)
        #expect(e.dominantEmotion == .paternalLove)
        #expect(e.empathyDescription == "Very High")
    }

    @Test func joyAndCalmAverageToNoChange() throws {
        var e = try entity([.joy: 1, .calm: 1])
        #expect(abs(e.empathy - 0.65) < 1e-12)
        #expect(e.boostTrust() == 0)
        #expect(e.trust == 0.5)
        #expect(e.decayRate == 0.01)
    }

    @Test func tenWorriesSitExactlyOnThePenaltyThresholdAndChangeNothing() throws {
        var e = try entity([.worry: 10])
        #expect(abs(e.empathy - 0.3) < 1e-12)
        #expect(e.boostTrust() == 0)
        #expect(e.decayRate == 0.01)
    }

    @Test func thePenaltyBranchIsReachableWithSadnessAndAnger() throws {
        // Jamey 3.0's lowest weight was 0.3, so "empathy < 0.3" never happened.
        var e = try entity()
        let change = e.recordEmotion(.anger, at: t0)
        #expect(abs(e.empathy - 0.1) < 1e-12)
        #expect(abs(change - -(0.3 - 0.1) * 0.3) < 1e-12)
        #expect(e.decayRate == 0.02)
        var s = try entity()
        s.recordEmotion(.sadness, at: t0)
        #expect(abs(s.trust - (0.5 - 0.03)) < 1e-12)
    }

    @Test func decayTwiceInARowEqualsDecayOnce() throws {
        // Jamey 3.0: 0.5 at rate 0.01, last seen 10 days ago: 0.40, then 0.30, then 0.20 the same day.
        // Now: 0.40, and again 0.40.
        let tenDays = t0.addingTimeInterval(10 * SoulEntity.secondsPerDay)
        var e = try entity()
        #expect(abs(e.decay(at: tenDays) - -0.1) < 1e-12)
        #expect(abs(e.trust - 0.4) < 1e-12)
        #expect(e.decay(at: tenDays) == 0)
        #expect(abs(e.trust - 0.4) < 1e-12)
        #expect(e.lastDecayedAt == tenDays)
    }

    @Test func decayIsProratedToTheSecond() throws {
        var e = try entity()
        // Nothing decayed in Jamey 3.0's first 24 hours; now six hours take a quarter of a day's rate.
        e.decay(at: t0.addingTimeInterval(6 * 3600))
        #expect(abs(e.trust - (0.5 - 0.0025)) < 1e-12)
        // Applied daily or once over the same span, the total is the same (no compounding).
        var daily = try entity()
        var once = try entity()
        for day in 1...30 { daily.decay(at: t0.addingTimeInterval(Double(day) * SoulEntity.secondsPerDay)) }
        once.decay(at: t0.addingTimeInterval(30 * SoulEntity.secondsPerDay))
        #expect(abs(daily.trust - once.trust) < 1e-12)
        #expect(abs(once.trust - 0.2) < 1e-12)
    }

    @Test func decayCountsFromTheLastInteractionAndStopsAtZero() throws {
        var e = try entity()
        e.recordEmotion(.calm, at: t0.addingTimeInterval(5 * SoulEntity.secondsPerDay))
        e.decay(at: t0.addingTimeInterval(7 * SoulEntity.secondsPerDay))
        #expect(abs(e.trust - 0.48) < 1e-12)
        e.decay(at: t0.addingTimeInterval(1000 * SoulEntity.secondsPerDay))
        #expect(e.trust == 0)
        // A clock that goes backwards decays nothing.
        var f = try entity()
        #expect(f.decay(at: t0.addingTimeInterval(-3600)) == 0)
    }
}
