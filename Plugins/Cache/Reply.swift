import Foundation
import JameyPluginKit

import enum PluginReplies.JSONMembers
import enum PluginReplies.Reply
import struct PluginReplies.RequestBody

/// Replies in the shape the api plugin maps to HTTP: a `status` header, JSON bodies, errors as
/// problem+json (RFC 9457) with `type` `urn:jamey:problem:<slug>`.
enum Reply {
    /// A JSON reply (200 unless given).
    static func json(_ object: [String: Any], status: Int = 200) -> Outgoing {
        guard
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])
        else { return failure(CacheError.storage("the reply could not be encoded as JSON")) }
        return Outgoing(Array(data), contentType: "application/json", headers: ["status": String(status)])
    }

    /// The problem+json reply of an error.
    static func failure(_ error: CacheError) -> Outgoing {
        PluginReplies.Reply.problem(
            status: error.status, slug: error.slug, detail: error.description, retryAfter: error.retryAfter)
    }
}

/// A request's members: the JSON object body merged with the route's path parameters
/// (`http.param.*` headers), read with errors that name the member.
struct CacheRequest {
    private let members: [String: Any]

    /// Parses `message`; every body member must be in `allowed`, named once, and not `null`.
    init(_ message: Message, allowed: Set<String>) throws(CacheError) {
        var object: [String: Any] = [:]
        if !message.payload.isEmpty {
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any] else {
                throw .invalid("body: expected a JSON object")
            }
            if let repeated = JSONMembers.firstDuplicate(in: message.payload) {
                throw .invalid("body: member '\(repeated.prefix(64))' appears more than once in one object")
            }
            if let null = parsed.keys.sorted().first(where: { parsed[$0] is NSNull }) {
                throw .invalid(RequestBody.nullRefusal(null))
            }
            if let unknown = parsed.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw .invalid(
                    "body: unknown member '\(unknown.prefix(64))'; expected \(allowed.sorted().joined(separator: ", "))")
            }
            object = parsed
        }
        for (header, value) in message.headers where header.hasPrefix("http.param.") {
            let name = String(header.dropFirst("http.param.".count))
            if let given = object[name] as? String, given != value {
                throw .invalid("\(name): the body says '\(given.prefix(64))' but the path says '\(value.prefix(64))'")
            }
            // The gateway decoded it already (`PathTemplate.match`): decoding again made
            // `/v1/cache/ns/a%2541` the key "aA" instead of "a%41".
            object[name] = value
        }
        members = object
    }

    /// A string member; nil when absent.
    func string(_ name: String) throws(CacheError) -> String? {
        guard let value = members[name], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw .invalid("\(name): expected a string") }
        return text
    }

    /// A list-of-strings member; nil when absent.
    func strings(_ name: String) throws(CacheError) -> [String]? {
        guard let value = members[name], !(value is NSNull) else { return nil }
        guard let list = value as? [Any], let texts = list as? [String], texts.count == list.count else {
            throw .invalid("\(name): expected a list of strings")
        }
        return texts
    }

    /// An integer member in `range`; nil when absent.
    func integer(_ name: String, in range: ClosedRange<Int>, unit: String) throws(CacheError) -> Int? {
        guard let value = members[name], !(value is NSNull) else { return nil }
        let expected = "\(name): expected an integer from \(range.lowerBound) to \(range.upperBound) (\(unit))"
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else {
            throw .invalid("\(expected), found \(String(describing: value).prefix(40))")
        }
        let double = number.doubleValue
        guard double.rounded() == double, let int = Int(exactly: double), range.contains(int) else {
            throw .invalid("\(expected), found \(number)")
        }
        return int
    }
}
