/// What an API key may do. Scopes are ordered: `admin` includes `write`, which includes `read`;
/// `public` is what a request without a key has.
struct Scope: Sendable, Hashable, Comparable, CustomStringConvertible {
    private enum Level: Int, Sendable, CaseIterable {
        case `public` = 0, read, write, admin
    }

    private let level: Level
    private init(_ level: Level) { self.level = level }

    /// No key needed.
    static let `public` = Scope(.public)
    /// Read-only access to plugins, metrics and subscriptions.
    static let read = Scope(.read)
    /// Read, plus publishing and requests on the bus.
    static let write = Scope(.write)
    /// Everything, including key management.
    static let admin = Scope(.admin)

    /// The scopes a key can be given (not `public`).
    static let keyScopes: [Scope] = [.read, .write, .admin]

    /// Parses a scope name (`public`, `read`, `write`, `admin`).
    /// - Parameter name: the name.
    init?(_ name: String) {
        switch name {
        case "public": self = .public
        case "read": self = .read
        case "write": self = .write
        case "admin": self = .admin
        default: return nil
        }
    }

    /// The scope's name.
    var name: String {
        switch level {
        case .public: "public"
        case .read: "read"
        case .write: "write"
        case .admin: "admin"
        }
    }

    var description: String { name }

    /// Whether a caller holding `self` may call a route that requires `required`.
    func allows(_ required: Scope) -> Bool { level.rawValue >= required.level.rawValue }

    static func < (a: Scope, b: Scope) -> Bool { a.level.rawValue < b.level.rawValue }
}
