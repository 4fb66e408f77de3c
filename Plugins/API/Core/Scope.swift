/// What an API key may do. Scopes are ordered: `admin` includes `write`, which includes `read`;
/// `public` is what a request without a key has.
package struct Scope: Sendable, Hashable, Comparable, CustomStringConvertible {
    private enum Level: Int, Sendable, CaseIterable {
        case `public` = 0, read, write, admin
    }

    private let level: Level
    private init(_ level: Level) { self.level = level }

    /// No key needed.
    package static let `public` = Scope(.public)
    /// Read-only access to plugins, metrics and subscriptions.
    package static let read = Scope(.read)
    /// Read, plus publishing and requests on the bus.
    package static let write = Scope(.write)
    /// Everything, including key management.
    package static let admin = Scope(.admin)

    /// The scopes a key can be given (not `public`).
    package static let keyScopes: [Scope] = [.read, .write, .admin]

    /// Parses a scope name (`public`, `read`, `write`, `admin`).
    /// - Parameter name: the name.
    package init?(_ name: String) {
        switch name {
        case "public": self = .public
        case "read": self = .read
        case "write": self = .write
        case "admin": self = .admin
        default: return nil
        }
    }

    /// The scope's name.
    package var name: String {
        switch level {
        case .public: "public"
        case .read: "read"
        case .write: "write"
        case .admin: "admin"
        }
    }

    package var description: String { name }

    /// Whether a caller holding `self` may call a route that requires `required`.
    package func allows(_ required: Scope) -> Bool { level.rawValue >= required.level.rawValue }

    package static func < (a: Scope, b: Scope) -> Bool { a.level.rawValue < b.level.rawValue }
}
