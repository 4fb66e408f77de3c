import PluginReplies

/// JSON Schemas (draft 2020-12 text) of the HTTP bodies, for `/openapi.json`. Their lengths and
/// patterns are the checks of `SoulEntity` and `Emotion` (code points; not blank; no control
/// characters), so a body valid against them is refused only for what a schema cannot say: a name
/// in the body that differs from the path's, a decay time in the future.
enum SoulSchemas {
    /// An entity's name, or a label such as an emotion or a memory id, of at most `max` code points.
    static func label(max: Int) -> String {
        #"{"type": "string", "minLength": 1, "maxLength": \#(max), "pattern": "\#(SchemaPatterns.label)"}"#
    }

    static let name = label(max: 128)

    /// An entity.
    static let entity = """
        {"type": "object", "properties": {
          "name": \(name), "trust": {"type": "number", "minimum": 0, "maximum": 1},
          "decay_rate": {"type": "number", "minimum": 0, "maximum": 1},
          "empathy": {"type": "number", "minimum": 0, "maximum": 1}, "empathy_description": {"type": "string"},
          "dominant_emotion": {"type": ["string", "null"]},
          "emotions": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
          "linked_memories": {"type": "array", "items": {"type": "string"}},
          "created_at": {"type": "string", "format": "date-time"},
          "last_interaction": {"type": "string", "format": "date-time"},
          "last_decayed_at": {"type": "string", "format": "date-time"}},
         "required": ["name", "trust", "decay_rate", "empathy", "emotions", "linked_memories"]}
        """

    static let list = """
        {"type": "object", "properties": {"entities": {"type": "array", "items": \(entity)}, "total": {"type": "integer"}},
         "required": ["entities", "total"]}
        """

    static let upsert = """
        {"type": "object", "properties": {"name": \(name), "trust": {"type": "number", "minimum": 0, "maximum": 1},
          "decay_rate": {"type": "number", "minimum": 0, "maximum": 1}}, "additionalProperties": false}
        """

    static let record = """
        {"type": "object", "properties": {"name": \(name),
          "emotion": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "\(SchemaPatterns.label)",
            "description": "love, joy, pride, protect, calm, focus, worry, sad, angry, a stored name, or any label (General)"}},
         "required": ["emotion"], "additionalProperties": false}
        """

    static let change = """
        {"type": "object", "properties": {"entity": \(entity), "trust_change": {"type": "number"}, "emotion": {"type": "string"}},
         "required": ["entity", "trust_change"]}
        """

    static let link = """
        {"type": "object", "properties": {"name": \(name), "memory_id": \(label(max: 128))},
         "required": ["memory_id"], "additionalProperties": false}
        """

    static let conscience = """
        {"type": "object", "properties": {"name": \(name), "text": {"type": "string", "minLength": 1, "maxLength": 10000,
          "pattern": "\(SchemaPatterns.text)",
          "description": "checked by the conscience: at most its max_text_length code points (default 10000)"}},
         "required": ["text"], "additionalProperties": false}
        """

    static let conscienceReply = """
        {"type": "object", "properties": {"entity": \(entity),
          "evaluation": {"type": "object", "properties": {"score": {"type": "number"}, "approved": {"type": "boolean"},
            "explanation": {"type": "string"}}},
          "emotion": {"type": "string"}, "intensity": {"type": "number"}, "trust_change": {"type": "number"}},
         "required": ["entity", "evaluation", "emotion", "intensity", "trust_change"]}
        """

    static let decay = """
        {"type": "object", "properties": {"at": {"type": "string", "format": "date-time",
          "description": "decay as of this time (default: now; at most 60 s past the node's clock)"}}, "additionalProperties": false}
        """

    static let decayReply = """
        {"type": "object", "properties": {"updated": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
          "changes": {"type": "object", "additionalProperties": {"type": "number"}}}, "required": ["updated", "at", "changes"]}
        """
}
