/// A refused input or a failed rule operation: a ``code`` to switch on and a sentence saying
/// what is wrong (its ``description``).
public struct ConscienceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. A struct over a private enum, so a later version may add
    /// codes without breaking a `switch` that keeps a `default:`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable { case invalid, notFound, exists }
        private let kind: Kind

        /// The input is malformed or out of range (HTTP 400).
        public static let invalid = Code(kind: .invalid)
        /// No rule has the given name (HTTP 404).
        public static let notFound = Code(kind: .notFound)
        /// A rule with the given name already exists (HTTP 409).
        public static let exists = Code(kind: .exists)

        public var description: String { kind.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// One sentence an operator or caller can act on.
    public let description: String

    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - description: the sentence.
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
