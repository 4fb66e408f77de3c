import CJameyABI
import Synchronization

extension Kernel {
    /// The bus topic the kernel answers config reload requests on (the api plugin's
    /// `POST /v1/config/reload`). The reply is the ``ReloadReport`` as JSON, or a problem.
    public static let reloadTopic = "kernel.config.reload"

    /// Sets where reloads read the configuration from: `jamey serve` passes the file it was
    /// started with (or the embedded default), read again with the environment's overrides.
    public func setReloadSource(_ source: @escaping @Sendable () throws(KernelError) -> KernelConfig) {
        reloadSource.withLock { $0 = source }
    }

    /// Reads the configuration from the reload source and applies it (SIGHUP, the HTTP route,
    /// `jamey config reload`).
    /// - Throws: `KernelError` as ``reload(_:)`` does; JAMEY_E_INVALID when the file cannot be
    ///   read or does not validate (every problem named), JAMEY_E_UNSUPPORTED without a source.
    @discardableResult
    public func reloadFromSource() throws(KernelError) -> ReloadReport {
        guard let source = reloadSource.withLock({ $0 }) else {
            throw KernelError("this kernel has no config file to reload from", code: JAMEY_E_UNSUPPORTED)
        }
        let new: KernelConfig
        do {
            new = try source()
        } catch {
            metrics.recordReload(result: "invalid")
            logger.error("config reload refused: \(error.problems.joined(separator: "; "))")
            throw error
        }
        return try reload(new)
    }

    /// The bus topic the kernel answers blue-green deploys on (the api plugin's
    /// `POST /v1/plugins/{name}/deploy`): header `http.param.name` (or `plugin`) names the plugin,
    /// the JSON body `{"path": "/abs/libX.so"}` the new build.
    public static let deployTopic = "kernel.plugins.deploy"

    /// Answers ``reloadTopic`` and ``deployTopic`` requests; each runs on a thread of its own (it
    /// stops and starts plugins, which needs the bus workers free) and replies when done.
    func serveOperationRequests() {
        serve(Self.reloadTopic) { _ throws(KernelError) in
            let report = try self.reloadFromSource()
            var body = ConfigMap()
            body["changes"] = .list(report.changes.map(ConfigValue.string))
            body["pending"] = .list(report.pending.map(ConfigValue.string))
            body["still_failing"] = .list(report.stillFailing.map(ConfigValue.string))
            return body
        }
        serve(Self.deployTopic) { request throws(KernelError) in
            let name = request.headers.last { $0.key == "http.param.name" || $0.key == "plugin" }?.value ?? ""
            let text = String(decoding: request.payload, as: UTF8.self)
            let parsed: ConfigValue? = (try? ConfigValue.parse(yaml: text, source: "request body")) ?? nil
            guard let path = parsed?.mapValue?["path"]?.stringValue else {
                throw KernelError(#"the body must be a JSON object with "path": the new build's library"#, code: JAMEY_E_INVALID)
            }
            let steps = try self.deploy(plugin: name, path: path)
            var body = ConfigMap()
            body["plugin"] = .string(name)
            body["version"] = self.plugin(named: name)?.version.map(ConfigValue.string) ?? .null
            body["path"] = .string(path)
            body["steps"] = .list(steps.map(ConfigValue.string))
            return body
        }
    }

    private func serve(_ topic: String, _ operation: @escaping @Sendable (BusMessage) throws(KernelError) -> ConfigMap) {
        _ = try? events.subscribe(topic, responder: true) { [weak self] request in
            guard let self, let replyTo = request.replyTo else { return true }
            let correlation = request.correlationID
            KernelThread.spawn(name: "jamey-operation") {
                let reply: BusMessage
                do throws(KernelError) {
                    reply = BusMessage(
                        topic: topic, payload: Array(ConfigValue.map(try operation(request)).jsonString().utf8),
                        contentType: "application/json", headers: [BusHeader(key: "status", value: "200")])
                } catch {
                    reply = Self.operationProblem(error, topic: topic)
                }
                try? self.events.reply(to: replyTo, correlationID: correlation, reply)
            }
            return true
        }
    }

    static func operationProblem(_ error: KernelError, topic: String) -> BusMessage {
        let reload = topic == reloadTopic
        let (status, slug, title): (Int, String, String) =
            switch error.code {
            case JAMEY_E_INVALID:
                reload
                    ? (422, "config-invalid", "The new config was refused; nothing changed")
                    : (422, "deploy-invalid", "The new build was refused; nothing changed")
            case JAMEY_E_NOT_FOUND: (404, "no-such-plugin", "No plugin has this name")
            case JAMEY_E_STATE: (409, "plugin-not-started", "Only a started plugin can be replaced")
            case JAMEY_E_SHUTDOWN: (503, "shutting-down", "The server is shutting down")
            case JAMEY_E_UNSUPPORTED: (409, "no-config-source", "This server has no config file to reload from")
            default:
                reload
                    ? (500, "reload-rolled-back", "Applying the new config failed and was rolled back")
                    : (500, "deploy-failed", "The new build did not take over; see detail")
            }
        var body = ConfigMap()
        body["type"] = .string("urn:jamey:problem:\(slug)")
        body["title"] = .string(title)
        body["status"] = .int(Int64(status))
        body["detail"] = .string(error.problems.joined(separator: "; "))
        body["problems"] = .list(error.problems.map(ConfigValue.string))
        return BusMessage(
            topic: topic, payload: Array(ConfigValue.map(body).jsonString().utf8),
            contentType: "application/problem+json", headers: [BusHeader(key: "status", value: String(status))])
    }
}
