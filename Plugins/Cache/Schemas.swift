import PluginReplies

/// JSON Schemas (draft 2020-12 text) of the HTTP bodies, for `/openapi.json`.
enum Schemas {
    /// A key: its limit is in bytes (`CachePlugin.maxKeyBytes`), which a schema cannot count, so
    /// `maxLength` only bounds it and the description says the rest.
    static let key = """
        {"type": "string", "minLength": 1, "maxLength": 512, "pattern": "\(SchemaPatterns.noNUL)",
         "description": "at most 512 bytes of UTF-8"}
        """
    static let namespace = #"{"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"}"#

    /// Base64 (RFC 4648, padded), as a get returns a value that is not UTF-8.
    static let base64 = #"{"type": "string", "pattern": "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"}"#

    /// The body of a put (namespace and key come from the path): the value as text or, for bytes
    /// that are not UTF-8, as base64 (what a get returns), one of the two.
    static let put = """
        {"type": "object", "properties": {"value": {"type": "string"}, "value_base64": \(base64),
         "ttl_ms": {"type": "integer", "minimum": 1, "maximum": 31536000000}},
         "oneOf": [{"required": ["value"]}, {"required": ["value_base64"]}], "additionalProperties": false}
        """

    /// A get reply.
    static let entry = """
        {"type": "object", "properties": {"namespace": \(namespace), "key": \(key), "value": {"type": "string"},
         "value_base64": {"type": "string"}, "tier": {"type": "string", "enum": ["l1", "l2", "l3", "origin"]},
         "expires_at": {"type": ["integer", "null"]}}, "required": ["namespace", "key", "tier"]}
        """

    /// A put reply.
    static let stored = """
        {"type": "object", "properties": {"namespace": \(namespace), "key": \(key), "l1": {"type": "string"},
         "l3": {"type": "boolean"}, "expires_at": {"type": ["integer", "null"]}}, "required": ["namespace", "key"]}
        """

    /// An invalidation request.
    static let invalidate = """
        {"type": "object", "properties": {"namespace": \(namespace), "key": \(key), "prefix": {"type": "string", "minLength": 1}},
         "required": ["namespace"], "additionalProperties": false}
        """

    /// An invalidation reply.
    static let invalidated = #"{"type": "object", "properties": {"removed": {"type": "integer"}}, "required": ["removed"]}"#

    /// A warm request.
    static let warm = """
        {"type": "object", "properties": {"namespace": \(namespace), "keys": {"type": "array", "items": \(key), "maxItems": \(CachePlugin.maxWarmKeys)}},
         "anyOf": [{"required": ["namespace"]}, {"properties": {"keys": {"maxItems": 0}}}],
         "additionalProperties": false}
        """

    /// A warm reply.
    static let warmed = """
        {"type": "object", "properties": {"namespaces": {"type": "object", "additionalProperties": {"type": "object",
         "properties": {"from_l3": {"type": "integer"}, "loaded": {"type": "integer"}, "failed": {"type": "integer"}}}}},
         "required": ["namespaces"]}
        """

    /// The stats reply.
    static let stats = """
        {"type": "object", "properties": {"l2": {"type": "object"}, "bus_invalidations": {"type": "object",
         "properties": {"sent": {"type": "integer"}, "applied": {"type": "integer"}, "gaps": {"type": "integer"}}},
         "namespaces": {"type": "object",
         "additionalProperties": {"type": "object", "properties": {"l1": {"type": "object"}, "l3": {"type": "object"},
         "origin": {"type": "object"}, "hit_ratio": {"type": "number"}, "sketch_restored": {"type": "boolean"}}}}},
         "required": ["namespaces"]}
        """
}
