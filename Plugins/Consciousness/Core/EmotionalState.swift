import SoulCore

/// What the soul knows of the entity a text concerns, passed in by the caller (the plugin asks
/// the soul plugin over the bus).
public struct SoulReading: Sendable, Equatable, Encodable {
    /// The entity's name.
    public let entity: String
    /// Its trust, 0 to 1.
    public let trust: Double
    /// Its empathy, 0.1 to 1.
    public let empathy: Double
    /// Its most recorded emotion, if any.
    public let dominantEmotion: String?

    /// A reading of the soul plugin's entity.
    public init(entity: String, trust: Double, empathy: Double, dominantEmotion: String?) {
        self.entity = entity
        self.trust = trust
        self.empathy = empathy
        self.dominantEmotion = dominantEmotion
    }

    enum CodingKeys: String, CodingKey {
        case entity, trust, empathy
        case dominantEmotion = "dominant_emotion"
    }
}

/// The inputs of the emotional state: the conscience's score of the text and the soul's reading
/// of the entity, each nil when its plugin does not run (or no entity was named).
public struct EmotionInputs: Sendable, Equatable {
    /// The conscience's score of the text, in [−1, 1].
    public var conscienceScore: Double?
    /// The soul's reading of the entity the text concerns.
    public var soul: SoulReading?

    /// The inputs; nil for each one missing.
    public init(conscienceScore: Double? = nil, soul: SoulReading? = nil) {
        self.conscienceScore = conscienceScore
        self.soul = soul
    }
}

/// The emotional state of one text (Jamey 3.0's was a constant Calm at intensity 0).
///
/// - emotion: the conscience score's emotion (the soul's rebased mapping, ``ConscienceFeeling``)
///   when the conscience scored the text; else the soul's dominant emotion for the entity; else
///   Calm, with `source` `none`.
/// - valence: the conscience score in [−1, 1] (0 without it); intensity `|valence|`.
/// - trust and empathy: the soul's, when it knows the entity.
public struct EmotionalState: Sendable, Equatable, Encodable {
    /// The emotion, in the soul's stored form (`Worry`, `PaternalLove`, ...).
    public let emotion: String
    /// Where it came from: `conscience`, `soul` or `none`.
    public let source: String
    /// The conscience score (0 without it).
    public let valence: Double
    /// `|valence|`.
    public let intensity: Double
    /// The conscience score given, if any.
    public let conscienceScore: Double?
    /// The soul's reading given, if any.
    public let soul: SoulReading?

    enum CodingKeys: String, CodingKey {
        case emotion, source, valence, intensity, soul
        case conscienceScore = "conscience_score"
    }

    init(_ inputs: EmotionInputs) {
        conscienceScore = inputs.conscienceScore
        soul = inputs.soul
        let score = inputs.conscienceScore.flatMap { $0.isFinite ? min(max($0, -1), 1) : nil }
        valence = score ?? 0
        intensity = abs(valence)
        if let score, let feeling = try? ConscienceFeeling(score: score) {
            emotion = feeling.emotion.description
            source = "conscience"
        } else if let dominant = inputs.soul?.dominantEmotion {
            emotion = dominant
            source = "soul"
        } else {
            emotion = Emotion.calm.description
            source = "none"
        }
    }
}
