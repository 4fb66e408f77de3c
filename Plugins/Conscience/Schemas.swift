import PluginReplies

/// JSON Schemas (draft 2020-12 text) of the HTTP bodies, for `/openapi.json`. Lengths count code
/// points and texts are checked as `TextCheck` and `MoralRule` do, so a body valid against them is
/// refused only for what a schema cannot say: keywords that are not one content word each or that
/// share a stem, a body whose name differs from the path's.
enum Schemas {
    /// A text to evaluate (`TextCheck`). Its limit is the config's `max_text_length`; the schema,
    /// declared before the config is read, gives the default.
    static let text = """
        {"type": "string", "minLength": 1, "maxLength": 10000, "pattern": "\(SchemaPatterns.text)",
         "description": "at most max_text_length code points (default 10000)"}
        """

    static let ruleProperties = """
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"},
        "description": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\(SchemaPatterns.text)"},
        "keywords": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 64}, "maxItems": 32,
          "uniqueItems": true, "description": "each one content word; no two with the same stem"},
        "weight": {"type": "number", "minimum": 0, "maximum": 10},
        "polarity": {"type": "string", "enum": ["virtue", "prohibition"]}
        """

    /// A stored rule.
    static let rule = """
        {"type": "object", "properties": {\(ruleProperties)},
         "required": ["name", "description", "keywords", "weight", "polarity"], "additionalProperties": false}
        """

    /// The body of a create request (keywords optional).
    static let newRule = """
        {"type": "object", "properties": {\(ruleProperties)},
         "required": ["name", "description", "weight", "polarity"], "additionalProperties": false}
        """

    /// The body of an update request (every member optional).
    static let ruleChange = """
        {"type": "object", "properties": {\(ruleProperties)}, "additionalProperties": false}
        """

    /// The list reply.
    static let ruleList = """
        {"type": "object", "properties": {"rules": {"type": "array", "items": \(rule)}}, "required": ["rules"]}
        """

    /// The body of an evaluation request.
    static let evaluateRequest = """
        {"type": "object", "properties": {"text": \(text),
         "action": {"type": "string", "description": "Jamey 3.0's name for text, read (and checked as text is) when text is absent"}},
         "anyOf": [{"required": ["text"]}, {"required": ["action"], "properties": {"action": \(text)}}],
         "additionalProperties": false}
        """

    /// An evaluation.
    static let evaluation = """
        {"type": "object", "properties": {
          "score": {"type": "number", "minimum": -1, "maximum": 1},
          "approved": {"type": "boolean"},
          "threshold": {"type": "number"},
          "explanation": {"type": "string"},
          "applied_rules": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "polarity": {"type": "string", "enum": ["virtue", "prohibition"]},
            "weight": {"type": "number"}, "coverage": {"type": "number"}, "contribution": {"type": "number"},
            "matches": {"type": "array", "items": {"type": "object", "properties": {
              "keyword": {"type": "string"}, "negated": {"type": "boolean"}}, "required": ["keyword", "negated"]}}},
            "required": ["name", "polarity", "weight", "coverage", "contribution", "matches"]}}},
         "required": ["score", "approved", "threshold", "explanation", "applied_rules"]}
        """
}
