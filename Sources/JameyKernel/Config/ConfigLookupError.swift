/// Why a typed lookup in a ``ValidatedSection`` found no value; mirrors the C accessors'
/// `JAMEY_E_NOT_FOUND` and `JAMEY_E_TYPE`.
public struct ConfigLookupError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable { case notFound, wrongType }
    private let base: Base
    private init(_ base: Base) { self.base = base }

    /// The key is absent (and has no default), or the path does not lead anywhere
    /// (`JAMEY_E_NOT_FOUND`).
    public static let notFound = ConfigLookupError(.notFound)
    /// The key holds a value of another type (`JAMEY_E_TYPE`).
    public static let wrongType = ConfigLookupError(.wrongType)

    /// `not found` or `wrong type`.
    public var description: String {
        switch base {
        case .notFound: return "not found"
        case .wrongType: return "wrong type"
        }
    }
}
