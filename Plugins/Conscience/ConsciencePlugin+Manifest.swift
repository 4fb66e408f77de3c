import JameyPluginKit

extension ConsciencePlugin {
    /// Name, version, config schema (`plugins.conscience.config`) and HTTP routes.
    public static let manifest = PluginManifest(
        name: "conscience",
        version: "1.0.0",
        description: "Moral rules in SQLite and evaluate(text): a score in [-1, 1], a verdict and an explanation",
        // Evaluations are recorded in memory when it runs.
        requires: [.init("memory", "^1.0", optional: true)],
        configuration: [
            .double(
                "approval_threshold", default: 0, range: -1...1,
                description: "A text is approved when its score is at least this"),
            .int(
                "negation_window", default: 3, range: 1...10,
                description: "A negator (not, never, don't, ...) flips the matches of this many following content words"),
            .int(
                "max_text_length", default: 10000, range: 1...1_000_000,
                description: "Longest text evaluated, in characters (Jamey 3.0: 10000)"),
            .object(
                "memory", description: "Recording evaluations in the memory plugin's short-term layer",
                fields: [
                    .bool("record", default: true, description: "Send each evaluation to memory.items.store when it answers"),
                    .int("timeout_ms", default: 250, range: 1...10000, description: "How long to wait for the memory plugin"),
                    .bool(
                        "record_read_callers", default: false,
                        description:
                            "Also record evaluations asked with a read-only key (off: evaluated, not recorded, so a read-only caller cannot push other items out of short_term)"
                    ),
                ]),
        ],
        routes: routes,
        metricHelp: ConscienceMetrics.help
    )

    /// The HTTP routes, each forwarded to the bus topic of the same operation.
    static let routes: [PluginManifest.Route] = [
        .init(
            "GET", "/v1/conscience/rules", topic: Topic.list, scope: "read", summary: "Conscience: list the moral rules",
            operationID: "conscienceListRules", responseSchema: Schemas.ruleList),
        .init(
            "POST", "/v1/conscience/rules", topic: Topic.create, scope: "write", summary: "Conscience: create a moral rule",
            operationID: "conscienceCreateRule", requestSchema: Schemas.newRule, responseSchema: Schemas.rule,
            details:
                "201 with the rule as stored (keywords lower-cased; derived from the description when omitted); 409 when the name is taken."
        ),
        .init(
            "GET", "/v1/conscience/rules/{name}", topic: Topic.get, scope: "read", summary: "Conscience: read a moral rule",
            operationID: "conscienceGetRule", responseSchema: Schemas.rule),
        .init(
            "PUT", "/v1/conscience/rules/{name}", topic: Topic.update, scope: "write",
            summary: "Conscience: change a moral rule", operationID: "conscienceUpdateRule",
            requestSchema: Schemas.ruleChange, responseSchema: Schemas.rule,
            details: "Members left out keep their values; a rule cannot be renamed."),
        .init(
            "DELETE", "/v1/conscience/rules/{name}", topic: Topic.delete, scope: "write",
            summary: "Conscience: delete a moral rule", operationID: "conscienceDeleteRule",
            details: "204 when deleted; 404 when no rule has the name."),
        .init(
            "POST", "/v1/conscience/evaluate", topic: Topic.evaluate, scope: "read",
            summary: "Conscience: evaluate a text against the rules", operationID: "conscienceEvaluate",
            requestSchema: Schemas.evaluateRequest, responseSchema: Schemas.evaluation,
            details:
                "score = Σ polarity·weight·coverage / Σ weight in [-1, 1]; approved = score ≥ approval_threshold. Whole-word matching on stems; a negator shortly before a keyword flips it."
        ),
    ]
}
