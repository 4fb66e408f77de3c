/// JSON Schemas (draft 2020-12 text) of the HTTP bodies, for `/openapi.json`.
enum Schemas {
    static let snapshot = """
        {"type": "object", "properties": {"id": {"type": "string"}, "time": {"type": "string", "format": "date-time"},
         "node": {"type": "string"}, "seq": {"type": "integer"}, "sources": {"type": "array", "items": {"type": "string"}},
         "fileCount": {"type": "integer"}, "totalBytes": {"type": "integer"}, "bytesAdded": {"type": "integer"},
         "chunksDeduplicated": {"type": "integer"}}, "required": ["id", "time", "node", "seq", "sources"]}
        """
    static let snapshotList = """
        {"type": "object", "properties": {"snapshots": {"type": "array", "items": \(snapshot)}}, "required": ["snapshots"]}
        """
    static let snapshotDetail = """
        {"type": "object", "properties": {"snapshot": \(snapshot), "files": {"type": "array", "items": {"type": "object",
         "properties": {"source": {"type": "string"}, "path": {"type": "string"}, "type": {"type": "string"},
         "size": {"type": "integer"}, "sha256": {"type": "string"}}}}}, "required": ["snapshot"]}
        """
    static let backupRequest = """
        {"type": "object", "additionalProperties": false}
        """
    static let backupResult = """
        {"type": "object", "properties": {"snapshot": {"type": "string"}, "seq": {"type": "integer"},
         "fileCount": {"type": "integer"}, "totalBytes": {"type": "integer"}, "bytesAdded": {"type": "integer"},
         "packBytesWritten": {"type": "integer"}, "manifestBytes": {"type": "integer"}, "chunksNew": {"type": "integer"},
         "chunksDeduplicated": {"type": "integer"}, "packs": {"type": "integer"}, "seconds": {"type": "number"}},
         "required": ["snapshot", "seq", "bytesAdded"]}
        """
    static let verifyRequest = """
        {"type": "object", "properties": {"subset": {"type": "string", "pattern": "^[1-9][0-9]{0,8}/[1-9][0-9]{0,8}$",
         "description": "k/n with k ≤ n: check the k-th of n parts of the packs"},
         "restore": {"type": "boolean"}}, "additionalProperties": false}
        """
    static let verifyReport = """
        {"type": "object", "properties": {"ok": {"type": "boolean"}, "report": {"type": "object", "properties": {
         "problems": {"type": "array", "items": {"type": "object", "properties": {"kind": {"type": "object"},
         "subject": {"type": "string"}, "message": {"type": "string"}}}}}}}, "required": ["ok", "report"]}
        """
    static let restoreRequest = """
        {"type": "object", "properties": {"snapshot": {"type": "string"},
         "source": {"type": "string", "pattern": "^[a-z0-9_-]+$", "description": "a plugin's name, or data"},
         "online": {"type": "boolean", "description": "false: only write the files (default true)"}},
         "additionalProperties": false}
        """
    static let restoreResult = """
        {"type": "object", "properties": {"restored": {"type": "array", "items": {"type": "object", "properties": {
         "snapshot": {"type": "string"}, "source": {"type": "string"}, "target": {"type": "string"},
         "previous": {"type": "string"}, "bytes": {"type": "integer"}, "seconds": {"type": "number"}}}},
         "steps": {"type": "array", "items": {"type": "string"}}}}
        """
    /// A retention count (`RequestBody.count`: a whole number under 10⁹).
    static let count = #"{"type": "integer", "minimum": 0, "maximum": 999999999}"#
    static let forgetRequest = """
        {"type": "object", "properties": {"dry_run": {"type": "boolean"}, "all_nodes": {"type": "boolean"},
         "keep_last": \(count), "keep_hourly": \(count), "keep_daily": \(count), "keep_weekly": \(count),
         "keep_monthly": \(count), "keep_yearly": \(count),
         "keep_within": {"type": "string", "pattern": "^([0-9]{1,9}[ymdh])*$", "description": "e.g. 1y2m3d4h"}},
         "additionalProperties": false}
        """
    static let forgetReport = """
        {"type": "object", "properties": {"dryRun": {"type": "boolean"}, "removed": {"type": "integer"},
         "decisions": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object", "properties": {
         "id": {"type": "string"}, "time": {"type": "string"}, "keep": {"type": "boolean"},
         "reasons": {"type": "array", "items": {"type": "string"}}}}}}}}
        """
    static let pruneRequest = """
        {"type": "object", "properties": {"dry_run": {"type": "boolean"}}, "additionalProperties": false}
        """
    static let pruneReport = """
        {"type": "object", "properties": {"packsDeleted": {"type": "integer"}, "packsRepacked": {"type": "integer"},
         "bytesFreed": {"type": "integer"}, "chunksRemoved": {"type": "integer"}, "leftoversRemoved": {"type": "integer"},
         "packsKept": {"type": "integer"}, "dryRun": {"type": "boolean"}}}
        """
    static let stats = """
        {"type": "object", "properties": {"repository": {"type": "string"}, "node": {"type": "string"},
         "snapshots": {"type": "integer"}, "packs": {"type": "integer"}, "packBytes": {"type": "integer"},
         "problems": {"type": "array", "items": {"type": "string"}}, "backupsRunning": {"type": "integer"},
         "status": {"type": "object"}}}
        """
}
