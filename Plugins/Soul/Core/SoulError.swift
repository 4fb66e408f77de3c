/// A refused input or a failed soul operation: a ``code`` to switch on and a sentence saying what
/// is wrong (its ``description``).
public struct SoulError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is: a struct over a private enum, so later codes break nobody.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable { case invalid, notFound }
        private let kind: Kind

        /// The input is malformed or out of range (HTTP 400).
        public static let invalid = Code(kind: .invalid)
        /// No entity has the given name (HTTP 404).
        public static let notFound = Code(kind: .notFound)

        public var description: String { kind.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// One sentence a caller can act on, naming the field.
    public let description: String

    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - description: the sentence.
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
