import Foundation
import SoulCore

/// An entity's JSON form (snake_case), the reply of `soul.entities.get` and the operations
/// that change one.
struct EntityView: Encodable {
    let name: String
    let trust: Double
    let decayRate: Double
    let empathy: Double
    let empathyDescription: String
    let dominantEmotion: String?
    /// Counts by emotion (`{"Joy": 2, "General(awe)": 1}`).
    let emotions: [String: Int]
    let linkedMemories: [String]
    let createdAt: Date
    let lastInteraction: Date
    let lastDecayedAt: Date

    init(_ e: SoulEntity) {
        name = e.name
        trust = e.trust
        decayRate = e.decayRate
        empathy = e.empathy
        empathyDescription = e.empathyDescription
        dominantEmotion = e.dominantEmotion?.description
        emotions = Dictionary(e.emotions.map { ($0.key.description, $0.value) }, uniquingKeysWith: +)
        linkedMemories = e.linkedMemories
        createdAt = e.createdAt
        lastInteraction = e.lastInteraction
        lastDecayedAt = e.lastDecayedAt
    }

    enum CodingKeys: String, CodingKey {
        case name, trust, empathy, emotions
        case decayRate = "decay_rate"
        case empathyDescription = "empathy_description"
        case dominantEmotion = "dominant_emotion"
        case linkedMemories = "linked_memories"
        case createdAt = "created_at"
        case lastInteraction = "last_interaction"
        case lastDecayedAt = "last_decayed_at"
    }
}

/// The reply of an operation that changed trust: the entity and the change.
struct ChangeView: Encodable {
    let entity: EntityView
    let trustChange: Double
    let emotion: String?

    enum CodingKeys: String, CodingKey {
        case entity, emotion
        case trustChange = "trust_change"
    }
}

/// The `soul.entities.list` reply.
struct EntityList: Encodable {
    let entities: [EntityView]
    /// Entities in total (the list may be cut by `limit`).
    let total: Int
}

/// The `soul.decay` reply.
struct DecayView: Encodable {
    /// Entities whose trust went down.
    let updated: Int
    let at: Date
    let changes: [String: Double]
}

/// What the conscience said, as far as the soul reads it.
struct ConscienceVerdict: Codable {
    let score: Double
    let approved: Bool
    let explanation: String
}

/// The `soul.conscience.record` reply.
struct ConscienceFeelingView: Encodable {
    let entity: EntityView
    let evaluation: ConscienceVerdict
    let emotion: String
    let intensity: Double
    let trustChange: Double

    enum CodingKeys: String, CodingKey {
        case entity, evaluation, emotion, intensity
        case trustChange = "trust_change"
    }
}
