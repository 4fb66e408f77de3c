import JameyPluginKit

extension ConsciousnessPlugin {
    /// Name, version, config schema (`plugins.consciousness.config`) and HTTP routes.
    public static let manifest = PluginManifest(
        name: "consciousness",
        version: "1.0.0",
        description:
            "The workspace pipeline: priority and broadcast, attention, higher-order thought, prediction, integration, emotional state",
        // Each one's input is used when it runs (broadcasts go to memory's working layer).
        requires: [
            .init("memory", "^1.0", optional: true), .init("conscience", "^1.0", optional: true),
            .init("soul", "^1.0", optional: true),
        ],
        configuration: [
            .double(
                "competition_threshold", default: 0.5, range: 0...1,
                description:
                    "A text is broadcast when its priority is at least this (Jamey 3.0: 0.7, which ordinary text never reached)"),
            .double(
                "activity_half_life_seconds", default: 10, range: 0.001...86400,
                description: "After this long a broadcast counts half in the workspace activity"),
            .double(
                "integration_threshold", default: 0.005, range: 0...0.15,
                description: "A text counts as integrated at this integration or more (the heuristic's range is about 0 to 0.15)"),
            .int(
                "max_text_length", default: 10000, range: 1...1_000_000,
                description: "Longest text processed, in characters (Jamey 3.0: 10000)"),
            .int(
                "max_in_flight", default: 64, range: 1...100_000,
                description: "Process requests running at once; more are refused with 429"),
            .bool("use_conscience", default: true, description: "Score each text with conscience.evaluate when it answers"),
            .bool("use_soul", default: true, description: "Read the named entity with soul.entities.get when it answers"),
            .int(
                "timeout_ms", default: 500, range: 1...60000,
                description: "How long to wait for the conscience and the soul"),
            .bool(
                "record_broadcasts", default: true,
                description: "Store each broadcast in the memory plugin's working layer when it answers"),
        ],
        routes: [
            .init(
                "POST", "/v1/consciousness/process", topic: Topic.process, scope: "write",
                summary: "Consciousness: process a text through the workspace pipeline", operationID: "consciousnessProcess",
                requestSchema: ConsciousnessSchemas.process, responseSchema: ConsciousnessSchemas.outcome,
                details:
                    "priority = min(0.3·length + 0.3·complexity + 0.2·novelty + 0.2·urgency, 1); at or above competition_threshold the text is broadcast on consciousness.workspace.broadcast. 400 for a refused text, 429 when max_in_flight requests are running."
            ),
            .init(
                "GET", "/v1/consciousness/metrics", topic: Topic.metrics, summary: "Consciousness: every level with its inputs",
                operationID: "consciousnessMetrics", responseSchema: ConsciousnessSchemas.levels),
        ],
        metricHelp: ConsciousnessMetrics.help
    )

    /// Bus topics.
    enum Topic {
        static let process = "consciousness.process"
        static let metrics = "consciousness.metrics"
        /// Each broadcast, as an event.
        static let broadcast = "consciousness.workspace.broadcast"
        static let evaluate = "conscience.evaluate"
        static let soulEntity = "soul.entities.get"
        static let memoryStore = "memory.items.store"
    }
}
