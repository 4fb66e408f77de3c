import ConsciousnessCore

/// The consciousness plugin's config section (`plugins.consciousness.config`), validated
/// against the manifest (every key present, defaults filled in).
public struct ConsciousnessConfiguration: Decodable, Sendable {
    var competitionThreshold: Double
    var activityHalfLifeSeconds: Double
    var integrationThreshold: Double
    var maxTextLength: Int
    /// Process requests running at once before the next is refused with 429.
    var maxInFlight: Int
    /// Ask `conscience.evaluate` for each text's score (skipped when nothing answers).
    var useConscience: Bool
    /// Ask `soul.entities.get` for the entity a request names (skipped when nothing answers).
    var useSoul: Bool
    /// How long to wait for the conscience and the soul, in milliseconds.
    var timeoutMs: Int
    /// Store each broadcast in the memory plugin's working layer (`memory.items.store`).
    var recordBroadcasts: Bool

    /// The core's settings.
    var settings: ConsciousnessSettings {
        var s = ConsciousnessSettings()
        s.competitionThreshold = competitionThreshold
        s.activityHalfLife = activityHalfLifeSeconds
        s.integrationThreshold = integrationThreshold
        s.maxTextLength = maxTextLength
        return s
    }
}
