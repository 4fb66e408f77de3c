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

    /// Answers ``reloadTopic`` requests; each reload runs on a thread of its own (it stops and
    /// starts plugins, which needs the bus workers free) and replies when done.
    func serveReloadRequests() {
        _ = try? events.subscribe(Self.reloadTopic, responder: true) { [weak self] request in
            guard let self, let replyTo = request.replyTo else { return true }
            let correlation = request.correlationID
            KernelThread.spawn(name: "jamey-reload") {
                let reply: BusMessage
                do throws(KernelError) {
                    reply = Self.reloadReply(try self.reloadFromSource())
                } catch {
                    reply = Self.reloadProblem(error)
                }
                try? self.events.reply(to: replyTo, correlationID: correlation, reply)
            }
            return true
        }
    }

    static func reloadReply(_ report: ReloadReport) -> BusMessage {
        var body = ConfigMap()
        body["changes"] = .list(report.changes.map(ConfigValue.string))
        body["pending"] = .list(report.pending.map(ConfigValue.string))
        body["still_failing"] = .list(report.stillFailing.map(ConfigValue.string))
        return BusMessage(
            topic: reloadTopic, payload: Array(ConfigValue.map(body).jsonString().utf8), contentType: "application/json",
            headers: [BusHeader(key: "status", value: "200")])
    }

    static func reloadProblem(_ error: KernelError) -> BusMessage {
        let (status, slug, title): (Int, String, String) =
            switch error.code {
            case JAMEY_E_INVALID: (422, "config-invalid", "The new config was refused; nothing changed")
            case JAMEY_E_SHUTDOWN: (503, "shutting-down", "The server is shutting down")
            case JAMEY_E_UNSUPPORTED: (409, "no-config-source", "This server has no config file to reload from")
            default: (500, "reload-rolled-back", "Applying the new config failed and was rolled back")
            }
        var body = ConfigMap()
        body["type"] = .string("urn:jamey:problem:\(slug)")
        body["title"] = .string(title)
        body["status"] = .int(Int64(status))
        body["detail"] = .string(error.problems.joined(separator: "; "))
        body["problems"] = .list(error.problems.map(ConfigValue.string))
        return BusMessage(
            topic: reloadTopic, payload: Array(ConfigValue.map(body).jsonString().utf8),
            contentType: "application/problem+json", headers: [BusHeader(key: "status", value: String(status))])
    }
}
