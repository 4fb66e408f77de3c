import ConscienceCore
import Foundation
import JameyPluginKit

/// A request's JSON object body, read with errors that name the field and what was expected.
struct RequestBody {
    /// The members of the object.
    let members: [String: Any]

    /// Parses a request's payload as a JSON object whose keys are all in `allowed`.
    /// - Parameters:
    ///   - payload: the bytes (UTF-8 JSON); empty is `{}` when `emptyIsObject`.
    ///   - allowed: the accepted member names.
    ///   - emptyIsObject: treat an empty payload as `{}`.
    /// - Throws: ``ConscienceError`` `.invalid` for non-UTF-8, non-JSON, non-object payloads and
    ///   unknown members.
    init(_ payload: [UInt8], allowed: Set<String>, emptyIsObject: Bool = false) throws(ConscienceError) {
        if payload.isEmpty && emptyIsObject {
            members = [:]
            return
        }
        guard String(validating: payload, as: UTF8.self) != nil else {
            throw ConscienceError(.invalid, "body: expected UTF-8 JSON, found bytes that are not valid UTF-8")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else {
            throw ConscienceError(.invalid, "body: expected a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ConscienceError(
                .invalid, "body: unknown member '\(unknown.prefix(64))'; expected \(allowed.sorted().joined(separator: ", "))")
        }
        members = object
    }

    /// The string member `key`, nil when absent.
    /// - Throws: `.invalid` when present but not a string.
    func string(_ key: String) throws(ConscienceError) -> String? {
        guard let value = members[key], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw ConscienceError(.invalid, "\(key): expected a string") }
        return text
    }

    /// The number member `key`, nil when absent.
    /// - Throws: `.invalid` when present but not a number.
    func number(_ key: String) throws(ConscienceError) -> Double? {
        guard let value = members[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number) else {
            throw ConscienceError(.invalid, "\(key): expected a number from 0 to 10")
        }
        return number.doubleValue
    }

    /// Whether a number JSONSerialization produced was a JSON `true` or `false`.
    static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    /// The string-list member `key`, nil when absent.
    /// - Throws: `.invalid` when present but not a list of strings.
    func strings(_ key: String) throws(ConscienceError) -> [String]? {
        guard let value = members[key], !(value is NSNull) else { return nil }
        guard let list = value as? [Any], let texts = list as? [String], texts.count == list.count else {
            throw ConscienceError(.invalid, "\(key): expected a list of strings")
        }
        return texts
    }

    /// The polarity member, nil when absent.
    /// - Throws: `.invalid` when present but not `virtue` or `prohibition`.
    func polarity() throws(ConscienceError) -> Polarity? {
        guard let text = try string("polarity") else { return nil }
        guard let polarity = Polarity(rawValue: text) else {
            throw ConscienceError(.invalid, "polarity: expected 'virtue' or 'prohibition', found '\(text.prefix(40))'")
        }
        return polarity
    }
}
