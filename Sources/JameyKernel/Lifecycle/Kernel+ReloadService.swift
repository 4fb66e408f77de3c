import CJameyABI
import Synchronization

extension Kernel {
    /// The bus topic the kernel answers config reload requests on (the api plugin's
    /// `POST /v1/config/reload`). The reply is the ``ReloadReport`` as JSON, or a problem.
    public static let reloadTopic = "kernel.config.reload"

    /// Sets where reloads read the configuration from: `jamey serve` passes the file it was
    /// started with (or the embedded default), read again with the environment's overrides.
    public func setReloadSource(_ source: @escaping @Sendable () throws(KernelError) -> KernelConfig) {
        reloadSource.withLock { $0 = ReloadSource(read: source) }
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
            new = try source.read()
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

    /// Answers ``reloadTopic``, ``deployTopic`` and ``canaryTopic`` requests; each runs on a thread of its own (it
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
            let name = Self.pluginName(request)
            let body = try Self.jsonBody(request)
            guard let path = body["path"]?.stringValue else {
                throw KernelError(#"the body must be a JSON object with "path": the new build's library"#, code: JAMEY_E_INVALID)
            }
            let weight = try Self.integer(body["weight"], "weight", in: 1...100) ?? 100
            let steps: [String]
            if weight < 100 {
                let policy = try Self.canaryPolicy(body["rollback"])
                steps = try self.startCanary(plugin: name, path: path, weight: weight, policy: policy)
            } else {
                steps = try self.deploy(plugin: name, path: path)
            }
            var reply = ConfigMap()
            reply["plugin"] = .string(name)
            // The version of the build at `path`: for a canary the new one, not the stable one
            // the plugin's status names (a reply put the stable 1.0.0 beside the canary's path).
            let canary =
                weight < 100 ? self.canaries.withLock { $0[name] }?.record.library?.descriptor.version.description : nil
            reply["version"] = (canary ?? self.plugin(named: name)?.version).map(ConfigValue.string) ?? .null
            reply["path"] = .string(path)
            reply["steps"] = .list(steps.map(ConfigValue.string))
            if weight < 100 {
                reply["canary_weight"] = .int(Int64(weight))
                reply["stable_version"] = self.plugin(named: name)?.version.map(ConfigValue.string) ?? .null
            }
            return reply
        }
        serve(Self.canaryTopic + ".status") { request throws(KernelError) in
            let name = Self.pluginName(request)
            guard let status = self.canaryStatus(plugin: name) else {
                let last = self.lastCanaryOutcome(plugin: name).map { " (the last one was \($0))" } ?? ""
                throw KernelError("plugin '\(name)' has no canary running\(last)", code: JAMEY_E_NOT_FOUND)
            }
            return Self.canaryStatusBody(status)
        }
        serve(Self.canaryTopic + ".weight") { request throws(KernelError) in
            let name = Self.pluginName(request)
            guard let weight = try Self.integer(try Self.jsonBody(request)["weight"], "weight", in: 1...99) else {
                throw KernelError(#"the body must be a JSON object with "weight": 1 to 99"#, code: JAMEY_E_INVALID)
            }
            try self.setCanaryWeight(plugin: name, weight: weight)
            return ConfigMap([
                ("plugin", .string(name)), ("steps", .list([.string("the canary takes \(weight) % of the traffic")])),
            ])
        }
        serve(Self.canaryTopic + ".promote") { request throws(KernelError) in
            let name = Self.pluginName(request)
            let steps = try self.promoteCanary(plugin: name)
            return ConfigMap([("plugin", .string(name)), ("steps", .list(steps.map(ConfigValue.string)))])
        }
        serve(Self.canaryTopic + ".rollback") { request throws(KernelError) in
            let name = Self.pluginName(request)
            let steps = try self.rollBackCanary(plugin: name)
            return ConfigMap([("plugin", .string(name)), ("steps", .list(steps.map(ConfigValue.string)))])
        }
    }

    /// The bus topics the kernel answers canary operations on, `kernel.plugins.canary.<op>`
    /// with op `status`, `weight` (`{"weight": N}`), `promote`, `rollback`; header
    /// `http.param.name` (or `plugin`) names the plugin.
    public static let canaryTopic = "kernel.plugins.canary"

    private static func pluginName(_ request: BusMessage) -> String {
        request.headers.last { $0.key == "http.param.name" || $0.key == "plugin" }?.value ?? ""
    }

    /// The request's JSON object body (empty for an empty body).
    private static func jsonBody(_ request: BusMessage) throws(KernelError) -> ConfigMap {
        let text = String(decoding: request.payload, as: UTF8.self)
        if text.allSatisfy(\.isWhitespace) { return ConfigMap() }
        guard let parsed = (try? ConfigValue.parse(yaml: text, source: "request body")) ?? nil, let map = parsed.mapValue else {
            throw KernelError("the body must be a JSON object", code: JAMEY_E_INVALID)
        }
        return map
    }

    private static func integer(_ value: ConfigValue?, _ key: String, in range: ClosedRange<Int>) throws(KernelError) -> Int? {
        guard let value, value != .null else { return nil }
        guard case .int(let n) = value, range.contains(Int(n)) else {
            throw KernelError("\(key) must be an integer from \(range.lowerBound) to \(range.upperBound)", code: JAMEY_E_INVALID)
        }
        return Int(n)
    }

    /// A number from 0 to `max` (bounded, so what it is turned into cannot overflow: a
    /// `min_p99_difference_ms` of 1e300 stopped the process converting it to microseconds).
    private static func number(_ value: ConfigValue?, _ key: String, max: Double) throws(KernelError) -> Double? {
        let number: Double?
        switch value {
        case nil, .null?: return nil
        case .int(let n)?: number = Double(n)
        case .double(let d)?: number = d
        default: number = nil
        }
        guard let number, number >= 0, number <= max else {
            let bound = max == max.rounded() ? String(Int(max)) : String(max)
            throw KernelError("rollback.\(key) must be a number from 0 to \(bound)", code: JAMEY_E_INVALID)
        }
        return number
    }

    /// The canary policy from a deploy request's `rollback` object (defaults for what it omits).
    private static func canaryPolicy(_ value: ConfigValue?) throws(KernelError) -> CanaryPolicy {
        var policy = CanaryPolicy()
        guard let value, value != .null else { return policy }
        guard let map = value.mapValue else { throw KernelError("rollback must be an object", code: JAMEY_E_INVALID) }
        let known: Set = [
            "auto", "window_ms", "min_requests", "max_error_rate_increase", "max_p99_increase", "min_p99_difference_ms",
        ]
        if let unknown = map.keys.sorted().first(where: { !known.contains($0) }) {
            throw KernelError("rollback.\(unknown) is not a canary policy setting", code: JAMEY_E_INVALID)
        }
        if let auto = map["auto"] {
            guard case .bool(let b) = auto else {
                throw KernelError("rollback.auto must be true or false", code: JAMEY_E_INVALID)
            }
            policy.autoRollback = b
        }
        if let ms = try integer(map["window_ms"], "rollback.window_ms", in: 100...86_400_000) {
            policy.window = .milliseconds(ms)
        }
        if let n = try integer(map["min_requests"], "rollback.min_requests", in: 1...1_000_000) { policy.minRequests = n }
        if let x = try number(map["max_error_rate_increase"], "max_error_rate_increase", max: 1) {
            policy.maxErrorRateIncrease = x
        }
        if let x = try number(map["max_p99_increase"], "max_p99_increase", max: 1000) { policy.maxP99Increase = x }
        if let x = try number(map["min_p99_difference_ms"], "min_p99_difference_ms", max: 86_400_000) {
            policy.minP99Difference = .microseconds(Int64(x * 1000))
        }
        return policy
    }

    private static func canaryStatusBody(_ status: CanaryStatus) -> ConfigMap {
        func ms(_ d: Duration?) -> ConfigValue {
            guard let d else { return .null }
            let (s, atto) = d.components
            return .double(((Double(s) * 1e3 + Double(atto) / 1e15) * 1000).rounded() / 1000)
        }
        var sides = ConfigMap()
        for side in TrafficSplit.Side.allCases {
            let f = status.window[side] ?? .init(requests: 0, errors: 0)
            let total = status.total[side] ?? (0, 0)
            var one = ConfigMap()
            one["version"] = .string(side == .canary ? status.canary : status.stable)
            one["share_percent"] = .int(Int64(side == .canary ? status.weight : 100 - status.weight))
            one["requests"] = .int(Int64(f.requests))
            one["errors"] = .int(Int64(f.errors))
            one["error_rate"] = .double(f.errorRate)
            one["p50_ms"] = ms(f.p50)
            one["p99_ms"] = ms(f.p99)
            one["total_requests"] = .int(Int64(total.requests))
            one["total_errors"] = .int(Int64(total.errors))
            sides[side.rawValue] = .map(one)
        }
        var policy = ConfigMap()
        policy["auto"] = .bool(status.policy.autoRollback)
        policy["window_ms"] = .int(status.policy.window.wholeMilliseconds)
        policy["min_requests"] = .int(Int64(status.policy.minRequests))
        policy["max_error_rate_increase"] = .double(status.policy.maxErrorRateIncrease)
        policy["max_p99_increase"] = .double(status.policy.maxP99Increase)
        policy["min_p99_difference_ms"] = ms(status.policy.minP99Difference)
        var body = ConfigMap()
        body["plugin"] = .string(status.plugin)
        body["stable"] = .string(status.stable)
        body["canary"] = .string(status.canary)
        body["weight"] = .int(Int64(status.weight))
        body["window_ms"] = policy["window_ms"]
        body["sides"] = .map(sides)
        body["policy"] = .map(policy)
        return body
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
            case JAMEY_E_NOT_FOUND: (404, "not-found", "No plugin has this name, or it has no canary running")
            case JAMEY_E_STATE:
                reload
                    ? (409, "reload-conflict", "The reload would disturb work in progress; nothing changed: try again")
                    : (409, "plugin-not-replaceable", "The plugin is not started, is being snapshotted, or has a canary running")
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

/// The closure reloads read the config with, boxed in a class: a `Mutex` holding the closure
/// itself wrote it back through `withLock`'s `inout` at every read, wrapped in one more pair of
/// reabstraction thunks, so each reload called through a deeper chain — a SIGSEGV on a
/// 28 000-frame stack after about 7 000 reloads, found by a soak run. A class reference is
/// written back as it is.
final class ReloadSource: Sendable {
    let read: @Sendable () throws(KernelError) -> KernelConfig
    init(read: @escaping @Sendable () throws(KernelError) -> KernelConfig) { self.read = read }
}
