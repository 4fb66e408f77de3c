import JameyPluginKit

extension SoulPlugin {
    /// Name, version, config schema (`plugins.soul.config`) and HTTP routes.
    public static let manifest = PluginManifest(
        name: "soul",
        version: "1.0.0",
        description: "Entities with trust, decay, emotions and empathy; conscience results feed emotions and trust",
        // soul.conscience.record asks the conscience when it runs.
        requires: [.init("conscience", "^1.0", optional: true)],
        configuration: [
            .int(
                "conscience_timeout_ms", default: 1000, range: 1...60000,
                description: "How long soul.conscience.record waits for the conscience plugin")
        ],
        routes: routes,
        metricHelp: SoulMetrics.help
    )

    /// Bus topics this plugin answers.
    enum Topic {
        static let upsert = "soul.entities.upsert"
        static let get = "soul.entities.get"
        static let list = "soul.entities.list"
        static let delete = "soul.entities.delete"
        static let record = "soul.emotions.record"
        static let link = "soul.memories.link"
        static let decay = "soul.decay"
        static let conscience = "soul.conscience.record"
    }

    /// The HTTP routes, each forwarded to the bus topic of the same operation (Jamey 3.0's CLI
    /// `soul upsert | record | status | decay | delete`).
    static let routes: [PluginManifest.Route] = [
        .init(
            "GET", "/v1/soul/entities", topic: Topic.list, summary: "Soul: list entities, highest trust first (soul status)",
            operationID: "soulListEntities", responseSchema: SoulSchemas.list),
        .init(
            "GET", "/v1/soul/entities/{name}", topic: Topic.get, summary: "Soul: one entity (soul status NAME)",
            operationID: "soulGetEntity", responseSchema: SoulSchemas.entity),
        .init(
            "PUT", "/v1/soul/entities/{name}", topic: Topic.upsert, scope: "write",
            summary: "Soul: create an entity or set its trust and decay rate (soul upsert)", operationID: "soulUpsertEntity",
            requestSchema: SoulSchemas.upsert, responseSchema: SoulSchemas.entity,
            details: "201 when created, 200 when changed; members left out keep their values (new: trust 0.5, 0.01/day)."),
        .init(
            "DELETE", "/v1/soul/entities/{name}", topic: Topic.delete, scope: "write",
            summary: "Soul: delete an entity with its emotions and links (soul delete)", operationID: "soulDeleteEntity",
            details: "204 when deleted; 404 when no entity has the name."),
        .init(
            "POST", "/v1/soul/entities/{name}/emotions", topic: Topic.record, scope: "write",
            summary: "Soul: record an emotion (soul record)", operationID: "soulRecordEmotion",
            requestSchema: SoulSchemas.record, responseSchema: SoulSchemas.change,
            details:
                "Creates the entity when absent. Counts the emotion, then trust += (e−0.7)·0.5 when empathy e > 0.7, −(0.3−e)·0.3 when e < 0.3."
        ),
        .init(
            "POST", "/v1/soul/entities/{name}/memories", topic: Topic.link, scope: "write",
            summary: "Soul: link a memory item to an entity (once)", operationID: "soulLinkMemory",
            requestSchema: SoulSchemas.link, responseSchema: SoulSchemas.entity),
        .init(
            "POST", "/v1/soul/entities/{name}/conscience", topic: Topic.conscience, scope: "write",
            summary: "Soul: evaluate a text with the conscience and feed the result to the entity",
            operationID: "soulConscienceRecord", requestSchema: SoulSchemas.conscience,
            responseSchema: SoulSchemas.conscienceReply,
            details:
                "Asks conscience.evaluate; its score in [−1, 1] becomes an emotion (rebased thresholds) and a trust change that is never positive for a negative score. 503 when the conscience plugin is not running."
        ),
        .init(
            "POST", "/v1/soul/decay", topic: Topic.decay, scope: "write", summary: "Soul: apply trust decay to every entity",
            operationID: "soulDecay", requestSchema: SoulSchemas.decay, responseSchema: SoulSchemas.decayReply,
            details:
                "trust −= decay_rate · days since the later of the last interaction and the last decay (prorated to the second): running it twice in a row changes nothing the second time."
        ),
    ]
}
