import Foundation
import JameyPluginKit
import PluginReplies
import VaultCore

/// Vault errors as problem replies (the shared `Reply`): 400 bad input or key, 404 not found,
/// 409 repository state or damage, 507 a full disk, 500 otherwise.
enum VaultReply {
    static func problem(_ error: any Error) -> Outgoing {
        if let error = error as? BodyError { return Reply.badRequest(error.description) }
        if let problem = error as? VaultProblem {
            return Reply.problem(status: 409, slug: problem.kind.name, detail: problem.message)
        }
        guard let error = error as? VaultError else { return Reply.problem(status: 500, slug: "vault", detail: "\(error)") }
        switch error.code {
        case .badInput, .badKey: return Reply.badRequest(error.message)
        case .notFound: return Reply.problem(status: 404, slug: "not-found", detail: error.message)
        case .repository, .tampered, .decrypt: return Reply.problem(status: 409, slug: "repository", detail: error.message)
        case .noSpace: return Reply.problem(status: 507, slug: "storage-full", detail: error.message)
        default: return Reply.problem(status: 500, slug: "vault", detail: error.message)
        }
    }
}

extension RequestBody {
    /// The boolean member `key`, nil when absent or null.
    func flag(_ key: String) throws(BodyError) -> Bool? {
        guard let value = members[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else {
            throw BodyError("\(key): expected true or false")
        }
        return number.boolValue
    }

    /// The whole-number member `key` (0 or more), nil when absent or null.
    func count(_ key: String) throws(BodyError) -> Int? {
        guard let number = try self.number(key, expected: "a whole number ≥ 0") else { return nil }
        guard number >= 0, number == number.rounded(), number < 1e9 else {
            throw BodyError("\(key): expected a whole number ≥ 0")
        }
        return Int(number)
    }
}
