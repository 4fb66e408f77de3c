/// Why a vault operation failed: a sentence that names the file, key or field at fault.
public struct VaultError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The kind of failure, for callers that branch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case badInput, badKey, decrypt, notFound, io, repository, tampered, cancelled, noSpace }
        private let value: Value
        /// Malformed input: a field, an option, a file that is not what it should be.
        public static let badInput = Code(value: .badInput)
        /// A key or identity that cannot be parsed or does not open this data.
        public static let badKey = Code(value: .badKey)
        /// Decryption or authentication failed.
        public static let decrypt = Code(value: .decrypt)
        /// A snapshot, file or pack that does not exist.
        public static let notFound = Code(value: .notFound)
        /// A file system operation failed.
        public static let io = Code(value: .io)
        /// The repository is not a vault repository or not in a usable state.
        public static let repository = Code(value: .repository)
        /// The repository's content does not match what was signed or hashed.
        public static let tampered = Code(value: .tampered)
        /// The operation was asked to stop (the plugin is stopping) and stopped cleanly.
        public static let cancelled = Code(value: .cancelled)
        /// A disk the operation writes to is full.
        public static let noSpace = Code(value: .noSpace)
        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// One sentence for the operator.
    public let message: String

    /// Creates an error of `code` with `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
