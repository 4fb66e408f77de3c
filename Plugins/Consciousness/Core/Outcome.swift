/// What ``Consciousness/process(_:at:emotion:)`` did with one text: each stage's result with its
/// inputs. Its JSON form (snake_case) is the reply of `consciousness.process`.
public struct Outcome: Sendable, Equatable, Encodable {
    /// The priority and its parts.
    public let priority: Priority
    /// The competition threshold it was held against.
    public let threshold: Double
    /// The broadcast, when the priority reached the threshold.
    public let broadcast: Broadcast?
    /// The workspace activity right after this text, in [0, 1].
    public let activity: Double
    public let attention: Attention.Step
    public let higherOrder: HigherOrder
    public let prediction: Prediction.Step
    public let integration: Integration
    /// Whether the integration reached its threshold.
    public let integrated: Bool
    public let emotionalState: EmotionalState

    /// The higher-order score of this text and the level after it.
    public struct HigherOrder: Sendable, Equatable, Encodable {
        public let score: HigherOrderThought.Score
        public let level: Double
    }

    enum CodingKeys: String, CodingKey {
        case priority, threshold, broadcast, activity, attention, prediction, integration, integrated
        case higherOrder = "higher_order"
        case emotionalState = "emotional_state"
    }
}

/// Every level of the pipeline now, with the inputs that produced it (`GET /v1/consciousness/metrics`).
public struct Levels: Sendable, Encodable {
    public let processed: Int
    public let workspace: Workspace
    public let attention: AttentionLevel
    public let higherOrder: HigherOrderLevel
    public let prediction: PredictionLevel
    public let integration: IntegrationLevel
    /// The last text's emotional state (nil before the first).
    public let emotionalState: EmotionalState?

    public struct Workspace: Sendable, Encodable {
        /// `min(recent_broadcasts / scale, 1)`.
        public let activity: Double
        /// Σ 2^(−age / half_life) over the broadcasts.
        public let recentBroadcasts: Double
        public let halfLifeSeconds: Double
        public let scale: Double
        public let broadcasts: Int
        public let threshold: Double
        public let current: Broadcast?
        public let lastPriority: Priority?

        enum CodingKeys: String, CodingKey {
            case activity, scale, broadcasts, threshold, current
            case recentBroadcasts = "recent_broadcasts"
            case halfLifeSeconds = "half_life_seconds"
            case lastPriority = "last_priority"
        }
    }

    public struct AttentionLevel: Sendable, Encodable {
        public let focus: String?
        public let shifts: Int
        public let predictedNext: String?
        public let predictionContext: [String]
        /// Predictions of the next focus made, and how many came true.
        public let predictions: Int
        public let hits: Int

        enum CodingKeys: String, CodingKey {
            case focus, shifts, predictions, hits
            case predictedNext = "predicted_next"
            case predictionContext = "prediction_context"
        }
    }

    public struct HigherOrderLevel: Sendable, Encodable {
        /// The recency-weighted average of the scores.
        public let level: Double
        public let rate: Double
        public let last: HigherOrderThought.Score?
    }

    public struct PredictionLevel: Sendable, Encodable {
        public let confidence: Double
        public let error: Double
        public let rate: Double
        public let lastSurprise: Double?
        public let expectedNext: [Double]?

        enum CodingKeys: String, CodingKey {
            case confidence, error, rate
            case lastSurprise = "last_surprise"
            case expectedNext = "expected_next"
        }
    }

    public struct IntegrationLevel: Sendable, Encodable {
        public let last: Integration?
        public let threshold: Double
        public let maximum: Double
        public let integrated: Bool?
    }

    enum CodingKeys: String, CodingKey {
        case processed, workspace, attention, prediction, integration
        case higherOrder = "higher_order"
        case emotionalState = "emotional_state"
    }
}
