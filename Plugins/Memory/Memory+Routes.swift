import JameyPluginKit
import MemoryCore
import PluginReplies

extension Memory {
    /// The HTTP routes (served by the api plugin as bus requests to the same topics).
    static let routes: [PluginManifest.Route] = [
        .init(
            "POST", "/v1/memory/items", topic: "memory.items.store", scope: "write", summary: "Store one memory item",
            operationID: "memoryStore", requestSchema: Schemas.newItem, responseSchema: Schemas.storeResult,
            details: "201 with the item; a near-duplicate in the same layer is merged (200, merged: true) or refused (409)"),
        .init(
            "POST", "/v1/memory/items/batch", topic: "memory.items.store", scope: "write",
            summary: "Store up to max_batch items in one transaction", operationID: "memoryStoreBatch",
            requestSchema:
                #"{"type":"object","required":["items"],"properties":{"items":{"type":"array","minItems":1,"items":\#(Schemas.newItem)}},"additionalProperties":false}"#,
            responseSchema: #"{"type":"object","properties":{"results":{"type":"array","items":\#(Schemas.storeResult)}}}"#),
        .init(
            "GET", "/v1/memory/items", topic: "memory.items.list", scope: "read",
            summary: "List items newest first (query: layer, tag, source, since, until, limit)", operationID: "memoryList",
            responseSchema: #"{"type":"object","properties":{"items":{"type":"array","items":\#(Schemas.item)}}}"#),
        .init(
            "GET", "/v1/memory/items/{id}", topic: "memory.items.get", scope: "read",
            summary: "Get one item (reinforces it)", operationID: "memoryGet", responseSchema: Schemas.item),
        .init(
            "PATCH", "/v1/memory/items/{id}", topic: "memory.items.update", scope: "write", summary: "Change an item",
            operationID: "memoryUpdate", requestSchema: Schemas.patch, responseSchema: Schemas.item),
        .init(
            "DELETE", "/v1/memory/items/{id}", topic: "memory.items.delete", scope: "write", summary: "Delete an item",
            operationID: "memoryDelete"),
        .init(
            "POST", "/v1/memory/search", topic: "memory.items.search", scope: "read",
            summary: "Full-text search ranked by BM25, recency, importance and reinforcement", operationID: "memorySearch",
            requestSchema: Schemas.search, responseSchema: Schemas.searchResult,
            details:
                "Plain words by default (quoted, joined with AND or OR per `mode`); `syntax: true` accepts FTS5 operators. A bad query is 400."
        ),
        .init(
            "POST", "/v1/memory/consolidate", topic: "memory.consolidate", scope: "write",
            summary: "Run consolidation now: sweep, merge near-duplicates, promote", operationID: "memoryConsolidate",
            responseSchema: Schemas.report, longRunning: true),
    ]
}

/// JSON Schemas of the bodies, as text for the OpenAPI document. They state what
/// `MemoryStore.validate` and the request parsers check, so a body valid against them is refused
/// only for what a schema cannot say: a content over `max_content_bytes` (413), a batch over
/// `max_batch`, a query without words, a pin in a layer that does not allow it, a near-duplicate.
enum Schemas {
    /// A string without U+0000 (SQLite's C API would end it there).
    static let noNUL = #""pattern":"\#(SchemaPatterns.noNUL)""#
    /// Content: not blank (every code point White_Space, as `MemoryStore.validate` tests) and no
    /// U+0000.
    static let content = """
        {"type":"string","minLength":1,"pattern":"\(SchemaPatterns.notBlank)",\
        "description":"not blank; at most max_content_bytes bytes of UTF-8 (default 65536; more is a 413)"}
        """
    static let tags =
        #"{"type":"array","maxItems":\#(MemoryItem.maxTags),"items":{"type":"string","minLength":1,"maxLength":64,\#(noNUL)}}"#
    static let source = #"{"type":"string","maxLength":128,\#(noNUL)}"#
    static let links = #"{"type":"array","maxItems":\#(MemoryLink.maxPerItem),"items":\#(link)}"#
    static let layer = #"{"type":"string","enum":["working","short_term","episodic","semantic","long_term"]}"#
    static let link =
        #"{"type":"object","required":["kind","target"],"properties":{"kind":{"type":"string","enum":["entity","item"]},"target":{"type":"string","minLength":1,\#(noNUL)},"relation":{"type":"string",\#(noNUL)}},"additionalProperties":false}"#
    static let newItem = """
        {"type":"object","required":["content"],"properties":{"layer":\(layer),"content":\(content),\
        "tags":\(tags),"source":\(source),\
        "importance":{"type":"number","minimum":0,"maximum":1},"pinned":{"type":"boolean"},\
        "links":\(links)},"additionalProperties":false}
        """
    static let patch = """
        {"type":"object","properties":{"layer":\(layer),"content":\(content),\
        "tags":\(tags),"importance":{"type":"number","minimum":0,"maximum":1},\
        "pinned":{"type":"boolean"},"links":\(links)},"additionalProperties":false}
        """
    static let item = """
        {"type":"object","required":["id","layer","content"],"properties":{"id":{"type":"string"},"layer":\(layer),\
        "content":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}},"source":{"type":"string"},\
        "importance":{"type":"number"},"created_at":{"type":"string","format":"date-time"},\
        "last_accessed_at":{"type":"string","format":"date-time"},"access_count":{"type":"integer"},\
        "expires_at":{"type":["string","null"],"format":"date-time"},"pinned":{"type":"boolean"},\
        "links":{"type":"array","items":\(link)}}}
        """
    static let storeResult = #"{"type":"object","properties":{"item":\#(item),"merged":{"type":"boolean"}}}"#
    static let search = """
        {"type":"object","required":["query"],"properties":{"query":{"type":"string","minLength":1,\(noNUL),\
        "description":"at least one word (letters or digits, as FTS5's unicode61 tokenizer splits text)"},\
        "syntax":{"type":"boolean"},\
        "mode":{"type":"string","enum":["all","any"]},"layer":\(layer),"layers":{"type":"array","items":\(layer)},\
        "tag":{"type":"string",\(noNUL)},"tags":{"type":"array","items":{"type":"string",\(noNUL)}},\
        "source":{"type":"string",\(noNUL)},\
        "since":{"type":"string","format":"date-time"},"until":{"type":"string","format":"date-time"},\
        "limit":{"type":"integer","minimum":1,"description":"default 10; at most max_results hits come back"},"reinforce":{"type":"boolean"}},"additionalProperties":false}
        """
    static let searchResult = """
        {"type":"object","properties":{"hits":{"type":"array","items":{"type":"object","properties":{"item":\(item),\
        "score":{"type":"number"},"bm25":{"type":"number"}}}}}}
        """
    static let report = """
        {"type":"object","properties":{"expired":{"type":"object"},"merged":{"type":"object"},\
        "promoted":{"type":"object"},"evicted":{"type":"object"}}}
        """
}
