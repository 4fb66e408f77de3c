/// JSON Schemas (draft 2020-12 text) of the HTTP bodies, for `/openapi.json`.
enum Schemas {
    static let snapshot = """
        {"type": "object", "properties": {"id": {"type": "string"}, "time": {"type": "string", "format": "date-time"},
         "node": {"type": "string"}, "seq": {"type": "integer"}, "sources": {"type": "array", "items": {"type": "string"}},
         "file_count": {"type": "integer"}, "total_bytes": {"type": "integer"}, "bytes_added": {"type": "integer"},
         "chunks_deduplicated": {"type": "integer"}}, "required": ["id", "time", "node", "seq", "sources"]}
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
         "file_count": {"type": "integer"}, "total_bytes": {"type": "integer"}, "bytes_added": {"type": "integer"},
         "pack_bytes_written": {"type": "integer"}, "manifest_bytes": {"type": "integer"}, "chunks_new": {"type": "integer"},
         "chunks_deduplicated": {"type": "integer"}, "packs": {"type": "integer"}, "seconds": {"type": "number"}},
         "required": ["snapshot", "seq", "bytes_added"]}
        """
    static let verifyRequest = """
        {"type": "object", "properties": {"subset": {"type": "string", "pattern": "^[0-9]+/[0-9]+$"},
         "restore": {"type": "boolean"}}, "additionalProperties": false}
        """
    static let verifyReport = """
        {"type": "object", "properties": {"ok": {"type": "boolean"}, "report": {"type": "object", "properties": {
         "problems": {"type": "array", "items": {"type": "object", "properties": {"kind": {"type": "object"},
         "subject": {"type": "string"}, "message": {"type": "string"}}}}}}}, "required": ["ok", "report"]}
        """
    static let restoreRequest = """
        {"type": "object", "properties": {"snapshot": {"type": "string"}, "source": {"type": "string"}},
         "additionalProperties": false}
        """
    static let restoreResult = """
        {"type": "object", "properties": {"restored": {"type": "array", "items": {"type": "object", "properties": {
         "snapshot": {"type": "string"}, "source": {"type": "string"}, "target": {"type": "string"},
         "previous": {"type": "string"}, "bytes": {"type": "integer"}, "seconds": {"type": "number"}}}}}}
        """
    static let forgetRequest = """
        {"type": "object", "properties": {"dry_run": {"type": "boolean"}, "keep_last": {"type": "integer", "minimum": 0},
         "keep_hourly": {"type": "integer", "minimum": 0}, "keep_daily": {"type": "integer", "minimum": 0},
         "keep_weekly": {"type": "integer", "minimum": 0}, "keep_monthly": {"type": "integer", "minimum": 0},
         "keep_yearly": {"type": "integer", "minimum": 0}, "keep_within": {"type": "string"}}, "additionalProperties": false}
        """
    static let forgetReport = """
        {"type": "object", "properties": {"dry_run": {"type": "boolean"}, "removed": {"type": "integer"},
         "decisions": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object", "properties": {
         "id": {"type": "string"}, "time": {"type": "string"}, "keep": {"type": "boolean"},
         "reasons": {"type": "array", "items": {"type": "string"}}}}}}}}
        """
    static let pruneRequest = """
        {"type": "object", "properties": {"dry_run": {"type": "boolean"}}, "additionalProperties": false}
        """
    static let pruneReport = """
        {"type": "object", "properties": {"packs_deleted": {"type": "integer"}, "packs_repacked": {"type": "integer"},
         "bytes_freed": {"type": "integer"}, "chunks_removed": {"type": "integer"}, "leftovers_removed": {"type": "integer"},
         "dry_run": {"type": "boolean"}}}
        """
    static let stats = """
        {"type": "object", "properties": {"repository": {"type": "string"}, "node": {"type": "string"},
         "snapshots": {"type": "integer"}, "packs": {"type": "integer"}, "pack_bytes": {"type": "integer"},
         "problems": {"type": "array", "items": {"type": "string"}}, "status": {"type": "object"}}}
        """
}
