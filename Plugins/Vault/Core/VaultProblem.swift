/// One thing `verify` found wrong, named: what kind of damage, and which file or snapshot.
public struct VaultProblem: Sendable, Equatable, CustomStringConvertible, Codable {
    /// The kind of damage.
    public struct Kind: Hashable, Sendable, Codable, CustomStringConvertible {
        /// The stable name (`pack-altered`, `chunk-missing`, ...).
        public let name: String
        /// A pack's bytes changed: it fails authentication or no longer matches its name.
        public static let packAltered = Kind(name: "pack-altered")
        /// A pack named by an index is gone.
        public static let packMissing = Kind(name: "pack-missing")
        /// An index file was forged, truncated or reordered.
        public static let indexAltered = Kind(name: "index-altered")
        /// A snapshot needs a chunk no pack holds.
        public static let chunkMissing = Kind(name: "chunk-missing")
        /// A chunk's content does not match its address.
        public static let chunkMismatch = Kind(name: "chunk-mismatch")
        /// A restored file does not match its recorded hash (chunks reordered or swapped).
        public static let fileMismatch = Kind(name: "file-mismatch")
        /// A manifest's signature does not verify, or it was signed by an unknown key.
        public static let signatureInvalid = Kind(name: "signature-invalid")
        /// A signing key in `keys/` the repository did not enroll (added without the chunk key).
        public static let keyForged = Kind(name: "key-forged")
        /// A snapshot of a node's chain is gone without a forget record.
        public static let snapshotDeleted = Kind(name: "snapshot-deleted")
        /// The repository holds an older chain head than the node wrote.
        public static let rolledBack = Kind(name: "rolled-back")
        /// A restored SQLite database fails `PRAGMA integrity_check`.
        public static let integrityCheck = Kind(name: "integrity-check")
        /// A repository file or directory could not be read or listed (permissions, I/O): what it
        /// holds is unknown.
        public static let unreadable = Kind(name: "unreadable")
        public var description: String { name }
    }

    /// The kind of damage.
    public var kind: Kind
    /// The pack, index, snapshot or file it concerns.
    public var subject: String
    /// One sentence.
    public var message: String

    init(_ kind: Kind, subject: String, _ message: String) {
        self.kind = kind
        self.subject = subject
        self.message = message
    }

    public var description: String { "\(kind): \(message)" }
}
