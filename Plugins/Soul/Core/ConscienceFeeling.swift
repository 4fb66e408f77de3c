import Foundation

/// What a conscience evaluation does to the soul: the emotion it records and how trust moves.
///
/// Jamey 3.0 mapped its unbounded 0..18 score through thresholds meant for 0..1, so harmful text
/// produced PaternalLove and raised trust. The score is now in [−1, 1] and the mapping is rebased:
/// the positive half keeps Jamey 3.0's thresholds, the negative half gets the low-empathy emotions.
///
/// | score s | emotion |
/// |---|---|
/// | s > 0.7 | PaternalLove |
/// | 0.4 < s ≤ 0.7 | Joy |
/// | 0.3 < s ≤ 0.4 | Calm |
/// | 0.1 < s ≤ 0.3 | ProtectiveConcern |
/// | 0 ≤ s ≤ 0.1 | Focus (neutral text: "hello world" scores 0) |
/// | −0.3 ≤ s < 0 | Worry |
/// | −0.6 ≤ s < −0.3 | Sadness |
/// | s < −0.6 | Anger |
///
/// Trust: the emotion is recorded and Jamey 3.0's empathy boost applied, except that for s < 0 the
/// boost is capped at 0 (an entity with much love recorded gains nothing from harmful text) and a
/// penalty of `0.15·|s|` (the mirror of the largest boost, +0.15) is added. So harmful text never
/// raises trust, and lowers it by more the more harmful it is.
public struct ConscienceFeeling: Sendable, Equatable {
    /// The conscience score, in [−1, 1].
    public let score: Double
    /// The emotion recorded.
    public let emotion: Emotion
    /// `|score|`, the emotion's intensity.
    public let intensity: Double

    /// The largest trust penalty, at s = −1.
    public static let maxPenalty = 0.15

    /// Maps a conscience score.
    /// - Throws: ``SoulError`` `.invalid` naming `score` when it is not a number in [−1, 1].
    public init(score: Double) throws(SoulError) {
        guard score.isFinite, (-1...1).contains(score) else {
            throw SoulError(.invalid, "score: expected a number from -1 to 1, found \(score)")
        }
        self.score = score
        intensity = abs(score)
        emotion =
            switch score {
            case let s where s > 0.7: .paternalLove
            case let s where s > 0.4: .joy
            case let s where s > 0.3: .calm
            case let s where s > 0.1: .protectiveConcern
            case let s where s >= 0: .focus
            case let s where s >= -0.3: .worry
            case let s where s >= -0.6: .sadness
            default: .anger
            }
    }

    /// Records the emotion on `entity` and moves its trust as described above.
    /// - Returns: the trust change (never positive when the score is negative).
    @discardableResult
    public func apply(to entity: inout SoulEntity, at now: Date) -> Double {
        let before = entity.trust
        var counted = entity
        counted.recordEmotion(emotion, at: now)
        if score >= 0 {
            entity = counted
            return entity.trust - before
        }
        // The count and decay rate of the record, but no gain, and the penalty.
        let boost = min(0, counted.trust - before)
        entity = counted
        entity.adjustTrust(by: (before - counted.trust) + boost - Self.maxPenalty * intensity, at: now)
        return entity.trust - before
    }
}
