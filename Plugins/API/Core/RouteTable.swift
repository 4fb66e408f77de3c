/// The routes being served, core and plugin-declared, and how a request finds one. Immutable;
/// the gateway swaps in a new table when the set of plugin routes changes.
package struct RouteTable: Sendable {
    /// The outcome of a lookup.
    package enum Match: Sendable {
        /// The endpoint and its path parameters, decoded.
        case found(Endpoint, [(String, String)])
        /// The path exists with other methods.
        case wrongMethod(allowed: [String])
        /// Nothing at this path.
        case notFound
        /// Nothing served at this path, but a route of a plugin the kernel lists and that is not
        /// running (starting, stopped, failed, or being restored) has this shape.
        case pluginDown(Resting)
        /// A route has this shape, but a segment in a parameter's place does not decode
        /// (``PathTemplate/percentDecode(_:)``): the request is malformed, not aimed elsewhere.
        case badParameter(String)
    }

    /// A route of a plugin that is not running: who declared it, in what state, its scope.
    package struct Resting: Sendable {
        /// The plugin's config name.
        package let plugin: String
        /// Its state (`failed`, `stopped`, `initialized`, ...).
        package let state: String
        /// The route's scope: a caller must hold it to learn the plugin is down.
        package let scope: Scope
        /// `GET`, `POST`, ...
        package let method: String
        /// The path template.
        package let path: PathTemplate
    }

    /// Every endpoint, core first.
    package let endpoints: [Endpoint]
    /// Routes of plugins the kernel lists that are not running (``Match/pluginDown(_:)``).
    package let resting: [Resting]
    /// Endpoints by number of path segments.
    private let bySegmentCount: [Int: [Endpoint]]
    /// Plugin routes refused (conflict, bad path, unknown scope or method), as sentences.
    package let rejected: [String]
    /// The highest scope any route declares for each topic, over every plugin the kernel lists
    /// whatever its state, refused routes too (``busScope(for:)``).
    package let declaredScopes: [String: Scope]

    package static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    /// Builds a table from the core routes and the routes plugins declare.
    /// - Parameters:
    ///   - core: the gateway's own endpoints.
    ///   - plugins: (plugin name, declared route) pairs, in plugin order.
    ///   - declared: the routes of every plugin the kernel lists, whatever its state (`plugins`
    ///     when nil): their scopes guard the bus routes (``busScope(for:)``) even while a plugin
    ///     starts, before its routes are served, and for a route refused.
    ///   - resting: (plugin name, state, declared route) of plugins listed but not running: their
    ///     paths answer 503 instead of 404, so a client does not take a miss or a deletion from a
    ///     plugin that is only down.
    package init(
        core: [Endpoint], plugins: [(String, DeclaredRoute)], declared: [(String, DeclaredRoute)]? = nil,
        resting: [(String, String, DeclaredRoute)] = []
    ) {
        var scopes: [String: Scope] = [:]
        for (_, route) in declared ?? plugins {
            let scope = Scope(route.scope) ?? .admin
            if scope > scopes[route.topic, default: .public] { scopes[route.topic] = scope }
        }
        declaredScopes = scopes
        var endpoints = core
        var rejected: [String] = []
        for (plugin, route) in plugins {
            let method = route.method.uppercased()
            let what = "plugin '\(plugin)' route \(route.method) \(route.path)"
            guard Self.methods.contains(method) else {
                rejected.append("\(what): method must be one of GET, POST, PUT, PATCH, DELETE")
                continue
            }
            guard let path = PathTemplate(route.path) else {
                rejected.append("\(what): path must start with / and hold literal or {name} segments")
                continue
            }
            guard let scope = Scope(route.scope) else {
                rejected.append("\(what): scope must be public, read, write or admin")
                continue
            }
            guard Self.isTopic(route.topic) else {
                rejected.append("\(what): topic '\(route.topic)' is not a concrete bus topic")
                continue
            }
            if let clash = core.first(where: { $0.path.overlaps(path) }) {
                rejected.append("\(what): overlaps the gateway's own route \(clash.method) \(clash.path)")
                continue
            }
            if let clash = endpoints.first(where: {
                $0.method == method && $0.path.specificity == path.specificity && $0.path.overlaps(path)
            }) {
                let owner = if case .forward(let p, _) = clash.action { "plugin '\(p)'" } else { "the gateway" }
                rejected.append("\(what): \(owner) already serves \(clash.method) \(clash.path)")
                continue
            }
            if let id = route.operationID,
                let clash = endpoints.first(where: { OpenAPIDocument.operationID($0) == id })
            {
                rejected.append("\(what): operation id '\(id)' is already used by \(clash.method) \(clash.path)")
                continue
            }
            let summary = route.summary.isEmpty ? "Served by plugin \(plugin)" : route.summary
            endpoints.append(
                Endpoint(
                    method: method, path: path, scope: scope, action: .forward(plugin: plugin, topic: route.topic),
                    summary: summary, documentation: route))
        }
        self.endpoints = endpoints
        self.rejected = rejected
        // Checked as a served route would be: a route that could not be served cannot say its
        // plugin is down either (one overlapping the gateway's own would shadow them).
        self.resting = resting.compactMap { plugin, state, route in
            let method = route.method.uppercased()
            guard Self.methods.contains(method), let path = PathTemplate(route.path), let scope = Scope(route.scope),
                !core.contains(where: { $0.path.overlaps(path) })
            else { return nil }
            return Resting(plugin: plugin, state: state, scope: scope, method: method, path: path)
        }
        self.bySegmentCount = Dictionary(grouping: endpoints, by: { $0.path.segments.count })
    }

    /// Finds the endpoint for `method` and the (still percent-encoded) `path`. A `HEAD` request
    /// finds the `GET` endpoint. Literal segments win over parameters.
    package func match(method: String, path: Substring) -> Match {
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        let wanted = method == "HEAD" ? "GET" : method
        guard path.first == "/", let candidates = bySegmentCount[parts.count] else {
            return restingOrNotFound(wanted, parts)
        }
        var best: (Endpoint, [(String, String)])?
        var allowed: [String] = []
        for endpoint in candidates {
            guard let parameters = endpoint.path.match(parts) else { continue }
            guard endpoint.method == wanted else {
                if !allowed.contains(endpoint.method) { allowed.append(endpoint.method) }
                continue
            }
            if let current = best, !Self.isMoreSpecific(endpoint.path, than: current.0.path) { continue }
            best = (endpoint, parameters)
        }
        if let best {
            // A down plugin's more specific route for this method is not the live one's to answer.
            if let down = restingRoute(wanted, parts), Self.isMoreSpecific(down.path, than: best.0.path) {
                return .pluginDown(down)
            }
            return .found(best.0, best.1)
        }
        if let down = restingRoute(wanted, parts) { return .pluginDown(down) }
        if allowed.isEmpty {
            // Only on the way to a 404: whether a route has this shape but a parameter that does
            // not decode.
            let undecodable = candidates.lazy.compactMap { $0.path.undecodableParameter(parts) }.first
            return undecodable.map { .badParameter(String($0)) } ?? restingOrNotFound(wanted, parts)
        }
        if allowed.contains("GET") { allowed.append("HEAD") }
        return .wrongMethod(allowed: allowed + ["OPTIONS"])
    }

    /// The most specific resting route for `method` with the shape of `parts`.
    private func restingRoute(_ method: String, _ parts: [Substring]) -> Resting? {
        var best: Resting?
        for r in resting where r.method == method && r.path.match(parts) != nil {
            if let current = best, !Self.isMoreSpecific(r.path, than: current.path) { continue }
            best = r
        }
        return best
    }

    /// Where nothing live has the shape of `parts`: a down plugin's route for `method`, else one
    /// of another method (under the highest scope among them, so no caller learns more than
    /// its key allows) says the plugin is down; else not found.
    private func restingOrNotFound(_ method: String, _ parts: [Substring]) -> Match {
        if let down = restingRoute(method, parts) { return .pluginDown(down) }
        let shaped = resting.filter { $0.path.match(parts) != nil }
        guard let highest = shaped.max(by: { $0.scope < $1.scope }) else { return .notFound }
        return .pluginDown(highest)
    }

    private static func isMoreSpecific(_ a: PathTemplate, than b: PathTemplate) -> Bool {
        for (x, y) in zip(a.specificity, b.specificity) where x != y { return x }
        return false
    }

    /// The scope a caller needs to publish or send a request on `topic` through the bus routes
    /// (`/v1/bus/publish`, `/v1/bus/request`, themselves `write`): admin for the kernel's topics
    /// (`kernel.`, which the gateway's admin routes use: deploy, canary, reload), the highest
    /// scope any plugin declares a route with for `topic` (served, starting or refused:
    /// ``declaredScopes``; a scope that is not one is taken as admin), and write for any other
    /// topic. Before, a write key reached through the bus routes what the admin routes guard: a
    /// vault restore, a deployment of any library path.
    package func busScope(for topic: String) -> Scope {
        if topic == "kernel" || topic.hasPrefix("kernel.") { return .admin }
        return max(.write, declaredScopes[topic] ?? .write)
    }

    /// The scope a caller needs to see an event on `topic` in an event stream
    /// (`/v1/bus/subscribe`, itself `read`): admin for the kernel's topics, the highest scope a
    /// plugin declares a route with for `topic`, and read for any other. Before, a read key's
    /// stream of `>` carried what an admin published on `kernel.*` (audit, session 40).
    package func eventScope(for topic: String) -> Scope {
        if topic == "kernel" || topic.hasPrefix("kernel.") { return .admin }
        return declaredScopes[topic] ?? .read
    }

    /// Whether `topic` is a concrete bus topic: dotted non-empty segments without wildcards or spaces.
    package static func isTopic(_ topic: String) -> Bool {
        guard !topic.isEmpty, topic.utf8.count <= 255 else { return false }
        return topic.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { segment in
            !segment.isEmpty && segment.utf8.allSatisfy { $0 > 32 && $0 < 127 && $0 != 42 && $0 != 62 }
        }
    }

    /// Whether `pattern` is a subscription pattern: a topic whose segments may be `*`, and whose
    /// last segment may be `>`.
    package static func isPattern(_ pattern: String) -> Bool {
        guard !pattern.isEmpty, pattern.utf8.count <= 255 else { return false }
        let segments = pattern.split(separator: ".", omittingEmptySubsequences: false)
        for (i, segment) in segments.enumerated() {
            if segment == "*" { continue }
            if segment == ">" && i == segments.count - 1 { continue }
            guard !segment.isEmpty, segment.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != 42 && $0 != 62 }) else { return false }
        }
        return true
    }
}
