import APICore
import Foundation

import enum PluginReplies.JSONMembers

/// The body of `POST /v1/keys`: `{"name": "ci", "scope": "read", "expires_at": "2030-01-01T00:00:00Z"}`
/// (or `"ttl_seconds": 3600` instead of `expires_at`). Unknown members are refused.
struct KeyRequest: Sendable {
    /// A name for people, 1 to 100 characters.
    let name: String
    /// The key's scope.
    let scope: Scope
    /// When it expires; nil: never.
    let expiresAt: Date?

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct Body: Decodable {
        var members: [String: Member] = [:]
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            for key in c.allKeys { members[key.stringValue] = try c.decode(Member.self, forKey: key) }
        }
    }

    private enum Member: Decodable {
        case string(String), integer(Int64), other
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) {
                self = .string(s)
            } else if let b = try? c.decode(Bool.self) {
                _ = b
                self = .other
            } else if let i = try? c.decode(Int64.self) {
                self = .integer(i)
            } else {
                self = .other
            }
        }
    }

    /// Whether a name may hold `scalar`: not a control character (C0, DEL, C1), a format one
    /// (bidirectional overrides, zero-width ones), nor a line or paragraph separator, any of
    /// which makes a listed name display as something else.
    static func printable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse: false
        default: true
        }
    }

    /// Parses and checks a request body.
    /// - Throws: 400 with a sentence naming the first problem.
    init(json data: Data, now: Date) throws(Problem) {
        // A member named twice was read first-wins here and last-wins by most other parsers: a
        // proxy checking {"scope":"admin","scope":"read"} saw a read key created as admin.
        if let repeated = JSONMembers.firstDuplicate(in: Array(data)) {
            throw Problem.badRequest("member '\(Gateway.printable(String(repeated.prefix(64))))' appears more than once")
        }
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: data)
        } catch {
            throw Problem.badRequest("the body must be a JSON object such as {\"name\": \"ci\", \"scope\": \"read\"}")
        }
        let known: Set<String> = ["name", "scope", "expires_at", "ttl_seconds"]
        if let unknown = body.members.keys.sorted().first(where: { !known.contains($0) }) {
            throw Problem.badRequest(
                "unknown member '\(Gateway.printable(unknown))'; allowed: name, scope, expires_at, ttl_seconds")
        }
        guard case .string(let name)? = body.members["name"], (1...100).contains(name.count),
            name.unicodeScalars.allSatisfy(Self.printable)
        else {
            throw Problem.badRequest(
                "'name' must be a string of 1 to 100 printable characters (no control, format or bidirectional characters)")
        }
        guard case .string(let scopeName)? = body.members["scope"], let scope = Scope(scopeName), scope != .public else {
            throw Problem.badRequest("'scope' must be one of read, write, admin")
        }
        var expiry: Date?
        switch (body.members["expires_at"], body.members["ttl_seconds"]) {
        case (nil, nil): expiry = nil
        case (.string(let text)?, nil):
            guard let date = APIKey.parseTimestamp(text) else {
                throw Problem.badRequest("'expires_at' must be an RFC 3339 time such as 2030-01-01T00:00:00Z")
            }
            expiry = date
        case (nil, .integer(let seconds)?):
            guard (1...315_360_000).contains(seconds) else {
                throw Problem.badRequest("'ttl_seconds' must be an integer from 1 to 315360000")
            }
            expiry = now.addingTimeInterval(TimeInterval(seconds))
        case (nil, _?): throw Problem.badRequest("'ttl_seconds' must be an integer from 1 to 315360000")
        case (_?, nil): throw Problem.badRequest("'expires_at' must be an RFC 3339 time such as 2030-01-01T00:00:00Z")
        case (_?, _?): throw Problem.badRequest("give either 'expires_at' or 'ttl_seconds', not both")
        }
        if let expiry, expiry <= now { throw Problem.badRequest("'expires_at' must be in the future") }
        self.name = name
        self.scope = scope
        self.expiresAt = expiry
    }
}
