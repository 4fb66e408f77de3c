import Foundation
import JameyKernel
import JameyTestKit
import VaultCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A kernel with the vault and conscience plugins loaded from their built libraries (real
/// `dlopen`), a repository made for it, the node key in the vault's data directory.
struct VaultKernel: Sendable {
    let test: TestKernel
    let repository: URL
    let identityFile: URL
    let identity: AgeIdentity
    /// The kernel's directory: repository, identity, node key and data (kept after the kernel
    /// when `keep`, for another to boot on).
    let directory: URL

    /// Boots, runs `body`, and shuts the kernel down whatever happens.
    static func with(
        configured: Bool = true, firstDelay: Int = 0, interval: Int = 1440, withIdentity: Bool = true, extra: String = "",
        privileged: Bool = true, http: Bool = false, before: [TestKernel.Plugin] = [], directory: URL? = nil,
        keep: Bool = false,
        _ body: (VaultKernel) async throws -> Void
    ) async throws {
        // `directory` (a kernel's ``directory`` before) boots on the same repository and data.
        let dir = try directory ?? URL(fileURLWithPath: TemporaryDirectory.make(prefix: "jamey-vault-kernel"))
        let repository = dir.appendingPathComponent("repo")
        let identityFile = dir.appendingPathComponent("identity.txt")
        let keyURL = dir.appendingPathComponent("node.key")
        let identity: AgeIdentity
        if directory == nil {
            identity = AgeIdentity.generate()
            try identity.fileText().write(to: identityFile, atomically: true, encoding: .utf8)
            try Repository.create(at: repository, recipients: [identity.recipient], node: "test-node").write(keyURL)
        } else {
            guard let saved = try AgeIdentity.parseFile(String(contentsOf: identityFile, encoding: .utf8)).first else {
                throw TestKitError("no identity in \(identityFile.path)")
            }
            identity = saved
        }
        var config =
            "node_key: \"\(keyURL.path)\"\nschedule:\n  first_delay_seconds: \(firstDelay)\n  interval_minutes: \(interval)"
        if configured { config += "\nrepository: \"\(repository.path)\"" }
        if withIdentity { config += "\nidentity: \"\(identityFile.path)\"" }
        if !extra.isEmpty { config += "\n" + extra }
        var vault = TestKernel.Plugin("vault", path: try TestPlugins.library("Vault"), required: true, config: config)
        if privileged { vault.privileges = ["snapshot"] }
        var plugins: [TestKernel.Plugin] =
            [
                .init("memory", path: try TestPlugins.library("Memory"), required: true),
                .init("conscience", path: try TestPlugins.library("Conscience"), required: true),
            ] + before + [vault]
        if http {
            plugins.append(
                .init(
                    "api", path: try TestPlugins.library("API"), required: true,
                    config: "port: 0\nadmin_key: \(adminKey)\nlimits: {request_timeout_ms: 60000}"))
        }
        let configured = plugins
        let test = try await onThread {
            try TestKernel.boot(plugins: configured, environment: ["JAMEY_DATA_DIR": dir.appendingPathComponent("data").path])
        }
        let kernel = VaultKernel(
            test: test, repository: repository, identityFile: identityFile, identity: identity, directory: dir)
        try await withStopping(kernel, stop: { k in await onThread { k.test.shutdown(deadline: .seconds(30)) } }) {
            try await body($0)
        }
        if directory == nil, !keep { try? FileManager.default.removeItem(at: dir) }
    }

    /// The api plugin's admin key in tests with `http`.
    static let adminKey = "vault-test-admin-key-0123456789abcdef"

    /// The api plugin's port (tests with `http`).
    func port() async throws -> Int {
        var port: Int?
        _ = await eventually(timeout: .seconds(20)) {
            let detail = test.kernel.plugin(named: "api")?.health?.detail ?? ""
            port = detail.hasPrefix("listening on") ? detail.split(separator: ":").last.flatMap { Int($0) } : nil
            return port != nil
        }
        guard let port else { throw TestKitError("the api plugin is not listening") }
        return port
    }

    /// One HTTP request to the api plugin; status and body text.
    func http(_ method: String, _ path: String, key: String? = adminKey, body: String? = nil) async throws -> (
        status: Int, text: String
    ) {
        guard let url = URL(string: "http://127.0.0.1:\(try await port())\(path)") else { throw TestKitError("bad path") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 120
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    var dataDirectory: URL { URL(fileURLWithPath: test.kernel.dataDirectory) }

    /// Sends a bus request and waits for its reply.
    func request(_ topic: String, _ body: String = "", headers: [String: String] = [:]) async throws -> Reply {
        let message = BusMessage(
            topic: topic, payload: Array(body.utf8), contentType: "application/json",
            headers: headers.map { BusHeader(key: $0.key, value: $0.value) })
        let bus = test.bus
        let reply = try await onThread { () throws(BusError) -> BusMessage in try bus.requestSync(message, timeout: .seconds(120))
        }
        return Reply(reply)
    }

    /// A reply, read for tests.
    struct Reply: Sendable {
        let status: Int
        let text: String

        init(_ message: BusMessage) {
            status = message.headers.first { $0.key == "status" }.flatMap { Int($0.value) } ?? 200
            text = String(decoding: message.payload, as: UTF8.self)
        }

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    }
}
