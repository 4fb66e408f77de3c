import Foundation

/// Every problem found in one configuration, in the order they were found.
///
/// Validation collects all problems rather than stopping at the first, so an operator can fix a
/// file in one pass. ``description`` is one sentence per line.
public struct ConfigErrors: Error, Sendable, Equatable, CustomStringConvertible {
    /// The problems; never empty when thrown or returned as a failure.
    public var errors: [ConfigError]

    /// Creates a collection of errors.
    ///
    /// - Parameter errors: the problems.
    public init(_ errors: [ConfigError]) {
        self.errors = errors
    }

    /// Each error's sentence, one per line.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }

    /// Each error's sentence.
    public var messages: [String] { errors.map(\.description) }

    /// The errors of one kind.
    ///
    /// - Parameter kind: the kind to keep.
    public func errors(of kind: ConfigError.Kind) -> [ConfigError] {
        errors.filter { $0.kind == kind }
    }
}

extension ConfigErrors: LocalizedError {
    /// The same as ``description``, so `localizedDescription` shows the sentences.
    public var errorDescription: String? { description }
}
