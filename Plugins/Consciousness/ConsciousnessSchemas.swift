import PluginReplies

/// JSON Schemas (draft 2020-12 text) of the HTTP bodies, for `/openapi.json`. The text's length
/// and pattern are `TextInput`'s checks (code points; not blank; no control character but tab,
/// line feed and carriage return).
enum ConsciousnessSchemas {
    static let process = """
        {"type": "object", "properties": {
          "text": {"type": "string", "minLength": 1, "maxLength": 10000, "pattern": "\(SchemaPatterns.text)",
            "description": "at most max_text_length code points (default 10000)"},
          "entity": {"type": "string", "minLength": 1, "maxLength": 128,
            "description": "the soul entity the text concerns (its trust, empathy and dominant emotion feed the emotional state)"}},
         "required": ["text"], "additionalProperties": false}
        """

    static let outcome = """
        {"type": "object", "properties": {
          "priority": {"type": "object", "properties": {"value": {"type": "number"}, "length": {"type": "number"},
            "uniqueness": {"type": "number"}, "special": {"type": "number"}, "complexity": {"type": "number"},
            "novelty": {"type": "number"}, "urgency": {"type": "number"}}},
          "threshold": {"type": "number"},
          "broadcast": {"type": ["object", "null"]},
          "activity": {"type": "number", "minimum": 0, "maximum": 1},
          "attention": {"type": "object"}, "higher_order": {"type": "object"}, "prediction": {"type": "object"},
          "integration": {"type": "object"}, "integrated": {"type": "boolean"}, "emotional_state": {"type": "object"},
          "sources": {"type": "object", "properties": {"conscience": {"type": "string"}, "soul": {"type": "string"}}}},
         "required": ["priority", "threshold", "activity", "attention", "higher_order", "prediction", "integration",
                      "emotional_state", "sources"]}
        """

    static let levels = """
        {"type": "object", "properties": {
          "processed": {"type": "integer"}, "workspace": {"type": "object"}, "attention": {"type": "object"},
          "higher_order": {"type": "object"}, "prediction": {"type": "object"}, "integration": {"type": "object"},
          "emotional_state": {"type": ["object", "null"]}},
         "required": ["processed", "workspace", "attention", "higher_order", "prediction", "integration"]}
        """
}
