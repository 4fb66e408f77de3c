import Foundation
import JameyKernel
import JameyTestKit

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A kernel with the conscience and api plugins loaded from their built libraries (the real
/// path: `dlopen`, each with its own copy of the kit), the api plugin on a free port.
struct HTTPKernel: Sendable {
    /// The admin key the kernel accepts (the api plugin's `admin_key`).
    static let adminKey = "conscience-test-admin-key-0123456789"

    /// The kernel.
    let test: TestKernel
    /// The api plugin's port.
    let port: Int

    /// Boots, runs `body`, and shuts down whatever happens.
    static func with(_ body: (HTTPKernel) async throws -> Void) async throws {
        let plugins: [TestKernel.Plugin] = [
            .init("conscience", path: try TestPlugins.library("Conscience"), required: true),
            .init(
                "api", path: try TestPlugins.library("API"), required: true,
                config:
                    "port: 0\nadmin_key: \(adminKey)\nrate_limits:\n  read: {rate: 0, burst: 1}\n  write: {rate: 0, burst: 1}\n  admin: {rate: 0, burst: 1}"
            ),
        ]
        let test = try await onThread { try TestKernel.boot(plugins: plugins) }
        do {
            var port: Int?
            _ = await eventually(timeout: .seconds(20)) {
                let detail = test.kernel.plugin(named: "api")?.health?.detail ?? ""
                port = detail.hasPrefix("listening on") ? detail.split(separator: ":").last.flatMap { Int($0) } : nil
                return port != nil
            }
            guard let port else { throw TestKitError("the api plugin is not listening") }
            try await body(HTTPKernel(test: test, port: port))
            await onThread { test.shutdown() }
        } catch {
            await onThread { test.shutdown() }
            throw error
        }
    }

    /// Sends one HTTP request with `key` and returns status, content type and body text.
    func send(
        _ method: String, _ path: String, key: String? = adminKey, body: String? = nil, type: String = "application/json"
    ) async throws -> HTTPReply {
        var request = URLRequest(url: try require(URL(string: "http://127.0.0.1:\(port)\(path)")))
        request.httpMethod = method
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue(type, forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try require(response as? HTTPURLResponse)
        return HTTPReply(
            status: http.statusCode, contentType: http.value(forHTTPHeaderField: "Content-Type"),
            text: String(decoding: data, as: UTF8.self))
    }

    /// Creates an API key with `scope` and returns its text.
    func key(scope: String) async throws -> String {
        let r = try await send("POST", "/v1/keys", body: #"{"name":"t","scope":"\#(scope)"}"#)
        guard r.status == 201, let key = r.json["key"] as? String else {
            throw TestKitError("creating a key: \(r.status) \(r.text)")
        }
        return key
    }
}

/// An HTTP response, read for tests.
struct HTTPReply: Sendable {
    let status: Int
    let contentType: String?
    let text: String

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
}

private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw TestKitError("missing value") }
    return value
}
