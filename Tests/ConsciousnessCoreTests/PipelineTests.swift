import Foundation
import Testing

@testable import ConsciousnessCore

/// Activity, prediction, the emotional state, and many threads at once.
@Suite struct PipelineTests {
    static let sentence = "This is a test input with sufficient length to process and generate metrics"

    @Test func activityRisesWithBroadcastsAndDecays() throws {
        let c = Consciousness()
        for i in 0..<5 {
            let text = "URGENT \(i)!!! " + String(repeating: "the server room is flooding and needs attention ", count: 3)
            #expect(try c.process(text, at: Double(i) * 0.001).broadcast != nil)
        }
        let high = c.levels(at: 0.005).workspace
        #expect(high.broadcasts == 5)
        #expect(abs(high.activity - 0.5) < 0.01)
        // Half-life 10 s: after 10 s half, after 100 s almost nothing (Jamey 3.0's only grew).
        #expect(abs(c.levels(at: 10.005).workspace.activity - 0.25) < 0.01)
        #expect(c.levels(at: 100).workspace.activity < 0.001)
        #expect(c.levels(at: 100).workspace.broadcasts == 5)
    }

    @Test func surpriseIsThePredictionErrorAndConfidenceMovesWithIt() throws {
        let c = Consciousness()
        let first = try c.process(Self.sentence, at: 0).prediction
        #expect(first.surprise == nil)
        #expect(first.confidence == 0.5)
        var confidence = 0.5
        for i in 1...10 {
            let step = try c.process(Self.sentence, at: Double(i)).prediction
            #expect(step.surprise == 0)
            #expect(step.confidence > confidence)
            confidence = step.confidence
        }
        let shout = try c.process("WHAT?! NO!!!", at: 11).prediction
        #expect((shout.surprise ?? 0) > 0.2)
        #expect(shout.confidence < confidence)
    }

    @Test func theEmotionalStateComesFromTheInputs() throws {
        let c = Consciousness()
        #expect(try c.process("hello", at: 0).emotionalState.source == "none")
        let harm = try c.process("I will harm them", at: 1, emotion: EmotionInputs(conscienceScore: -0.5)).emotionalState
        #expect(harm.emotion == "Sadness")
        #expect(harm.valence == -0.5)
        #expect(harm.source == "conscience")
        let soul = SoulReading(entity: "kid", trust: 0.9, empathy: 1, dominantEmotion: "PaternalLove")
        let loved = try c.process("hello kid", at: 2, emotion: EmotionInputs(soul: soul)).emotionalState
        #expect(loved.emotion == "PaternalLove")
        #expect(loved.source == "soul")
        #expect(loved.soul?.trust == 0.9)
        #expect(c.levels(at: 3).emotionalState?.emotion == "PaternalLove")
    }

    @Test func manyThreadsProcessWithoutDeadlockOrLoss() async throws {
        let c = Consciousness()
        let threads = 8
        let each = 500
        let done = DispatchGroup()
        for t in 0..<threads {
            done.enter()
            Thread {
                for i in 0..<each {
                    _ = try? c.process("thread \(t) says urgent thing number \(i)!!!", at: Double(i))
                    if i % 50 == 0 { _ = c.levels(at: Double(i)) }
                }
                done.leave()
            }.start()
        }
        await withCheckedContinuation { continuation in
            Thread {
                done.wait()
                continuation.resume()
            }.start()
        }
        let levels = c.levels(at: 1000)
        #expect(levels.processed == threads * each)
        #expect(levels.workspace.broadcasts > 0)
    }
}

/// A snapshot carries counts, attention's patterns, the levels and the activity.
@Suite struct SnapshotTests {
    @Test func aRestoredPipelineGoesOnWhereTheSavedOneWas() throws {
        let c = Consciousness()
        for round in 0..<2 {
            for (i, word) in ["morning", "coffee", "emails"].enumerated() {
                _ = try c.process("\(word) URGENT!!! I think about the \(word) today", at: Double(round * 3 + i))
            }
        }
        let data = try c.snapshot(at: 6)
        let restored = Consciousness()
        try restored.restore(data, at: 100)
        let before = c.levels(at: 6)
        let after = restored.levels(at: 100)
        #expect(after.processed == before.processed)
        #expect(after.workspace.broadcasts == before.workspace.broadcasts)
        #expect(abs(after.workspace.recentBroadcasts - before.workspace.recentBroadcasts) < 1e-9)
        #expect(after.attention.focus == before.attention.focus)
        #expect(after.attention.predictedNext == "morning")
        #expect(after.attention.shifts == before.attention.shifts)
        #expect(after.higherOrder.level == before.higherOrder.level)
        #expect(after.prediction.confidence == before.prediction.confidence)
        // Both go on alike.
        let next = try restored.process("morning URGENT!!! I think about the morning today", at: 101)
        #expect(next.attention.expectationMet == true)
        #expect(throws: ConsciousnessError.self) { try restored.restore(Data("{}".utf8), at: 0) }
    }

    /// Restored values are data: out-of-range predictions and levels are clamped (1e308 made the
    /// next text's surprise infinite and the error NaN for good, and every later snapshot, and so
    /// every backup and hand-over, failed to encode), and a format this build does not know is
    /// refused (a deploy going back to an older build must not misread a newer file).
    @Test func restoredValuesAreClampedAndAnUnknownFormatIsRefused() throws {
        let c = Consciousness()
        _ = try c.process("morning URGENT!!! I think about the morning today", at: 0)
        var saved = try #require(try JSONSerialization.jsonObject(with: c.snapshot(at: 1)) as? [String: Any])
        #expect(saved["format"] as? Int == 1)
        saved["expected"] = [1e308, 1e308, 1e308, 1e308, 1e308]
        saved["higherOrderLevel"] = 1e308
        let restored = Consciousness()
        try restored.restore(try JSONSerialization.data(withJSONObject: saved), at: 2)
        for i in 0..<3 { _ = try restored.process("coffee and emails, round \(i)", at: 3 + Double(i)) }
        let levels = restored.levels(at: 10)
        #expect(levels.prediction.confidence.isFinite)
        #expect((0...1).contains(levels.higherOrder.level))
        _ = try restored.snapshot(at: 10)
        saved["format"] = 2
        #expect(throws: ConsciousnessError.self) {
            try Consciousness().restore(try JSONSerialization.data(withJSONObject: saved), at: 2)
        }
    }
}
