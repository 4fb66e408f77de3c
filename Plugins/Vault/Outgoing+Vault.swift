import Foundation
import JameyPluginKit
import VaultCore

/// Replies as the api plugin maps them to HTTP: `status` header, JSON, problem+json errors.
enum VaultReply {
    static func json(_ value: some Encodable, status: Int = 200) -> Outgoing {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(value) else { return problem(500, "encoding", "the reply could not be encoded") }
        return Outgoing(Array(data), contentType: "application/json", headers: ["status": String(status)])
    }

    static func problem(_ status: Int, _ slug: String, _ detail: String) -> Outgoing {
        let titles = [400: "Bad Request", 404: "Not Found", 409: "Conflict", 503: "Service Unavailable"]
        let body: [String: Any] = [
            "type": "urn:jamey:problem:" + slug, "title": titles[status] ?? "Internal Server Error", "status": status,
            "detail": detail,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return Outgoing(Array(data), contentType: "application/problem+json", headers: ["status": String(status)])
    }

    /// The problem for a vault error: 400 bad input, 404 not found, 409 repository state, 500 otherwise.
    static func problem(_ error: any Error) -> Outgoing {
        guard let error = error as? VaultError else {
            if let problem = error as? VaultProblem { return Self.problem(409, problem.kind.name, problem.message) }
            return problem(500, "vault", "\(error)")
        }
        switch error.code {
        case .badInput, .badKey: return problem(400, "bad-request", error.message)
        case .notFound: return problem(404, "not-found", error.message)
        case .repository, .tampered, .decrypt: return problem(409, "repository", error.message)
        default: return problem(500, "vault", error.message)
        }
    }
}

/// A JSON request body: an object with only known members; errors name the member.
struct VaultRequestBody {
    let members: [String: Any]

    init(_ payload: [UInt8], allowed: Set<String>) throws {
        guard !payload.isEmpty else {
            members = [:]
            return
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else {
            throw VaultError(.badInput, "body: must be a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw VaultError(.badInput, "\(unknown): unknown member (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
        members = object
    }

    func string(_ key: String) throws -> String? {
        guard let value = members[key] else { return nil }
        guard let text = value as? String else { throw VaultError(.badInput, "\(key): must be a string") }
        return text
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = members[key] else { return nil }
        guard let flag = value as? Bool else { throw VaultError(.badInput, "\(key): must be true or false") }
        return flag
    }

    func int(_ key: String) throws -> Int? {
        guard let value = members[key] else { return nil }
        guard let number = value as? Int, number >= 0 else { throw VaultError(.badInput, "\(key): must be a whole number ≥ 0") }
        return number
    }
}
