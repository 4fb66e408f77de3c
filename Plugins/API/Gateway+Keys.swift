import APICore
import Foundation
import HTTPTypes
import Hummingbird
import JameyPluginKit
import NIOCore

extension Gateway {
    /// `POST /v1/keys`: creates a key; 201 with the key's text (shown only here) and a `Location`.
    func createKey(_ call: Call) async throws -> Response {
        let type = call.request.headers[.contentType]
        let media = type?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard media == "application/json" else { throw Problem.unsupportedMediaType(type, expected: "application/json") }
        let buffer = try await body(of: call.request, limit: min(settings.limits.maxBodyBytes, 65536))
        let now = Date()
        let wanted = try KeyRequest(json: Data(buffer: buffer), now: now)
        let keys = self.keys
        let (key, text) = try await store {
            try keys.create(name: wanted.name, scope: wanted.scope, expiresAt: wanted.expiresAt, now: now)
        }
        plugin.logger.notice("API key \(key.id) (\(key.scope)) created by key \(call.exchange.caller.keyID ?? "-")")
        guard case .object(var members) = key.json else { throw Problem.internalError("the key could not be shown") }
        members.append(("key", .string(text)))
        return Self.json(.created, JSON.object(members).text, headers: [.location: "/v1/keys/" + key.id])
    }

    /// `GET /v1/keys[?state=active|revoked|expired|all][&limit=N][&after=ID]`: one page of keys,
    /// newest first, without secrets; `next` names the last key when more follow (pass it as
    /// `after` for the next page).
    func listKeys(_ call: Call) throws -> Response {
        let query = call.request.uri.queryParameters
        let state = try query["state"].map { text in
            guard let state = KeyStore.Listing(rawValue: String(text)) else {
                throw Problem.badRequest(
                    "state: must be one of active, revoked, expired, all (got '\(Self.printable(String(text.prefix(32))))')")
            }
            return state
        }
        let limit = try query["limit"].map { text in
            guard let limit = Int(text), (1...KeyPaging.maxLimit).contains(limit) else {
                throw Problem.badRequest(
                    "limit: must be an integer from 1 to \(KeyPaging.maxLimit) (got '\(Self.printable(String(text.prefix(32))))')"
                )
            }
            return limit
        }
        let after = query["after"].map(String.init)
        guard let page = keys.page(state ?? .all, after: after, limit: limit ?? KeyPaging.defaultLimit) else {
            throw Problem.badRequest(
                "after: no API key has id '\(Self.printable(String((after ?? "").prefix(64))))'; pass the 'next' of the previous page"
            )
        }
        var members: [(String, JSON)] = [("keys", .array(page.keys.map(\.json)))]
        if page.more, let last = page.keys.last { members.append(("next", .string(last.id))) }
        return Self.json(.ok, JSON.object(members).text)
    }

    /// `DELETE /v1/keys/{id}`: revokes a key; 204, 404 for an unknown id, or 409 for the last
    /// active admin key when no bootstrap admin key is configured (nobody could manage keys
    /// until a restart).
    func deleteKey(_ id: String) async throws -> Response {
        guard id != KeyStore.bootstrapID else {
            throw Problem.badRequest("the bootstrap key comes from JAMEY_API_ADMIN_KEY or the config; remove it there")
        }
        let keys = self.keys
        switch try await store({ try keys.revoke(id: id) }) {
        case .revoked:
            plugin.logger.notice("API key \(id) revoked")
            return Response(status: .noContent)
        case .notFound:
            throw Problem.notFound("no API key has id '\(Self.printable(id))'")
        case .lastAdminKey:
            throw Problem(
                status: .conflict, slug: "last-admin-key",
                detail:
                    "API key \(id) is the last active admin key: revoking it would leave nobody able to manage keys until a restart; create another admin key first (POST /v1/keys with scope admin), then revoke this one"
            )
        }
    }

    /// Runs a key-store write (a synced SQLite transaction) on a thread of its own, not on the
    /// concurrency pool the request's handler runs on, turning database failures into a 500
    /// without internals.
    private func store<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await onOwnThread(named: "api-keys", body)
        } catch {
            plugin.logger.error("key store failed: \(error)")
            throw Problem.internalError("the key store could not be written")
        }
    }
}
