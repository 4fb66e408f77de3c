import Foundation

/// A refused request body: the sentence names the member and what was expected.
public struct BodyError: Error, Sendable, CustomStringConvertible {
    /// The sentence.
    public let description: String

    /// - Parameter description: the sentence naming the member.
    public init(_ description: String) { self.description = description }
}

/// A request's JSON object body, read with errors that name the member and what was expected.
public struct RequestBody {
    /// The members of the object.
    public let members: [String: Any]

    /// Parses a payload as a JSON object whose keys are all in `allowed`.
    /// - Parameters:
    ///   - payload: UTF-8 JSON; empty is `{}` when `emptyIsObject`.
    ///   - allowed: the accepted member names.
    ///   - emptyIsObject: treat an empty payload as `{}`.
    /// - Throws: ``BodyError`` for non-UTF-8, non-JSON, non-object payloads, a member named twice in one
    ///   object (``JSONMembers``), unknown members and a member that is `null` (no request schema
    ///   allows one: leave the member out instead).
    /// The refusal of a payload holding a NUL byte (UTF-16 or UTF-32 text, or binary).
    public static let nulRefusal = "body: expected UTF-8 JSON, found a NUL byte (UTF-16 or UTF-32 text is not accepted)"

    public init(_ payload: [UInt8], allowed: Set<String>, emptyIsObject: Bool = false) throws(BodyError) {
        if payload.isEmpty && emptyIsObject {
            members = [:]
            return
        }
        guard String(validating: payload, as: UTF8.self) != nil else {
            throw BodyError("body: expected UTF-8 JSON, found bytes that are not valid UTF-8")
        }
        // A NUL byte is valid UTF-8 but never in UTF-8 JSON text (a control character in a
        // string is escaped); Foundation takes a payload with NULs for UTF-16 or UTF-32 and
        // parses it, where RFC 8259 asks for UTF-8.
        guard !payload.contains(0) else { throw BodyError(Self.nulRefusal) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else {
            throw BodyError("body: expected a JSON object")
        }
        if let repeated = JSONMembers.firstDuplicate(in: payload) {
            throw BodyError("body: member '\(repeated.prefix(64))' appears more than once in one object")
        }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw BodyError("body: unknown member '\(unknown.prefix(64))'; expected \(allowed.sorted().joined(separator: ", "))")
        }
        if let null = object.keys.sorted().first(where: { object[$0] is NSNull }) {
            throw BodyError(Self.nullRefusal(null))
        }
        members = object
    }

    /// The sentence refusing a member whose value is `null`.
    public static func nullRefusal(_ key: String) -> String {
        "\(key.prefix(64)): expected a value, found null (leave the member out to omit it)"
    }

    /// The string member `key`, nil when absent.
    /// - Throws: ``BodyError`` when present but not a string.
    public func string(_ key: String) throws(BodyError) -> String? {
        guard let value = members[key], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw BodyError("\(key): expected a string") }
        return text
    }

    /// The number member `key`, nil when absent.
    /// - Parameter expected: the words after "expected" in the error (`a number from 0 to 1`).
    /// - Throws: ``BodyError`` when present but not a number.
    public func number(_ key: String, expected: String = "a number") throws(BodyError) -> Double? {
        guard let value = members[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else {
            throw BodyError("\(key): expected \(expected)")
        }
        return number.doubleValue
    }

    /// The string-list member `key`, nil when absent.
    /// - Throws: ``BodyError`` when present but not a list of strings.
    public func strings(_ key: String) throws(BodyError) -> [String]? {
        guard let value = members[key], !(value is NSNull) else { return nil }
        guard let list = value as? [Any], let texts = list as? [String], texts.count == list.count else {
            throw BodyError("\(key): expected a list of strings")
        }
        return texts
    }

    /// The RFC 3339 time member `key` (`2026-12-01T18:00:00Z`, read by ``RFC3339``), nil when absent.
    /// - Throws: ``BodyError`` when present but not such a time.
    public func time(_ key: String) throws(BodyError) -> Date? {
        guard let text = try string(key) else { return nil }
        guard let date = RFC3339.date(text) else {
            throw BodyError("\(key): expected an RFC 3339 time such as 2026-12-01T18:00:00Z, found '\(text.prefix(40))'")
        }
        return date
    }
}
