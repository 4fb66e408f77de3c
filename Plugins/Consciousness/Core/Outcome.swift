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
    /// Focus, shift and the next focus predicted.
    public let attention: Attention.Step
    /// This text's higher-order score and the level after it.
    public let higherOrder: HigherOrder
    /// The features predicted for this text, its features, the surprise and the confidence.
    public let prediction: Prediction.Step
    /// Features, activations, validator verdict and value.
    public let integration: Integration
    /// Whether the integration reached its threshold.
    public let integrated: Bool
    /// The emotional state and its inputs.
    public let emotionalState: EmotionalState

    /// The higher-order score of this text and the level after it.
    public struct HigherOrder: Sendable, Equatable, Encodable {
        /// The text's score with its hits and words.
        public let score: HigherOrderThought.Score
        /// The recency-weighted level after it.
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
    /// Texts processed.
    public let processed: Int
    /// Activity, broadcasts and the current broadcast.
    public let workspace: Workspace
    /// Focus, shifts and predictions.
    public let attention: AttentionLevel
    /// The higher-order level.
    public let higherOrder: HigherOrderLevel
    /// Confidence, error and the features expected next.
    public let prediction: PredictionLevel
    /// The last integration and its threshold.
    public let integration: IntegrationLevel
    /// The last text's emotional state (nil before the first).
    public let emotionalState: EmotionalState?

    /// The global workspace's level.
    public struct Workspace: Sendable, Encodable {
        /// `min(recent_broadcasts / scale, 1)`.
        public let activity: Double
        /// Σ 2^(−age / half_life) over the broadcasts.
        public let recentBroadcasts: Double
        /// Seconds after which a broadcast counts half.
        public let halfLifeSeconds: Double
        /// Recent broadcasts that make the activity 1.
        public let scale: Double
        /// Broadcasts since start.
        public let broadcasts: Int
        /// The threshold it is held against.
        public let threshold: Double
        /// The current broadcast.
        public let current: Broadcast?
        /// The last text's priority and its parts.
        public let lastPriority: Priority?

        enum CodingKeys: String, CodingKey {
            case activity, scale, broadcasts, threshold, current
            case recentBroadcasts = "recent_broadcasts"
            case halfLifeSeconds = "half_life_seconds"
            case lastPriority = "last_priority"
        }
    }

    /// Attention's level.
    public struct AttentionLevel: Sendable, Encodable {
        /// The current focus.
        public let focus: String?
        /// Shifts since start.
        public let shifts: Int
        /// The focus predicted next.
        public let predictedNext: String?
        /// The recent foci that prediction follows.
        public let predictionContext: [String]
        /// Predictions of the next focus made, and how many came true.
        public let predictions: Int
        /// Predictions that came true.
        public let hits: Int

        enum CodingKeys: String, CodingKey {
            case focus, shifts, predictions, hits
            case predictedNext = "predicted_next"
            case predictionContext = "prediction_context"
        }
    }

    /// The higher-order level.
    public struct HigherOrderLevel: Sendable, Encodable {
        /// The recency-weighted average of the scores.
        public let level: Double
        /// The weight of the newest value in the running average.
        public let rate: Double
        /// The last text's score.
        public let last: HigherOrderThought.Score?
    }

    /// Prediction's level.
    public struct PredictionLevel: Sendable, Encodable {
        /// `1 − error`.
        public let confidence: Double
        /// The running average of the surprise.
        public let error: Double
        /// The weight of the newest value in the running average.
        public let rate: Double
        /// The last text's surprise.
        public let lastSurprise: Double?
        /// The features predicted for the next text.
        public let expectedNext: [Double]?

        enum CodingKeys: String, CodingKey {
            case confidence, error, rate
            case lastSurprise = "last_surprise"
            case expectedNext = "expected_next"
        }
    }

    /// Integration's level.
    public struct IntegrationLevel: Sendable, Encodable {
        /// The last text's integration with its inputs.
        public let last: Integration?
        /// The threshold it is held against.
        public let threshold: Double
        /// The largest value the heuristic reaches (0.146).
        public let maximum: Double
        /// Whether the last text reached the threshold.
        public let integrated: Bool?
    }

    enum CodingKeys: String, CodingKey {
        case processed, workspace, attention, prediction, integration
        case higherOrder = "higher_order"
        case emotionalState = "emotional_state"
    }
}
