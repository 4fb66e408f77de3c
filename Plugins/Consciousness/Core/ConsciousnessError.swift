/// A refused input: a ``code`` to switch on and a sentence naming the field (its ``description``).
public struct ConsciousnessError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is: a struct over a private enum, so later codes break nobody.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable { case invalid }
        private let kind: Kind

        /// The input is malformed or out of range (HTTP 400).
        public static let invalid = Code(kind: .invalid)

        public var description: String { kind.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// One sentence a caller can act on.
    public let description: String

    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - description: the sentence.
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
