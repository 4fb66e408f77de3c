/// Start order of plugins from their `requires` and `provides`.
///
/// A requirement names a service some plugin provides, or a plugin by name (every plugin
/// implicitly provides itself at its own version). The order is topological, stable with respect
/// to config order; anything that cannot be ordered is reported with the reason. An optional
/// requirement (ABI 1.7) orders the plugin after a provider in range and is otherwise left out:
/// unmet, it fails nothing (``Plan/unmet``).
struct DependencyGraph {
    struct Node {
        let name: String
        let version: SemanticVersion
        let requires: [PluginRequirement]
        let provides: [PluginProvision]
    }

    /// The result: start order, per-plugin failures, and who each plugin depends on.
    struct Plan {
        var order: [String] = []
        var failures: [String: String] = [:]
        var dependencies: [String: [(requirement: PluginRequirement, provider: String)]] = [:]
        /// Optional requirements no enabled plugin meets, with why, per plugin.
        var unmet: [String: [(requirement: PluginRequirement, reason: String)]] = [:]
    }

    static func plan(_ nodes: [Node]) -> Plan {
        var plan = Plan()
        var providers: [String: (plugin: String, version: SemanticVersion)] = [:]
        for node in nodes { providers[node.name] = (node.name, node.version) }
        for node in nodes {
            for p in node.provides {
                if let existing = providers[p.name], existing.plugin != node.name {
                    plan.failures[node.name] = "provides '\(p.name)', which plugin '\(existing.plugin)' already provides"
                    continue
                }
                providers[p.name] = (node.name, p.version)
            }
        }
        var edges: [String: Set<String>] = [:]
        var optional: [String: Set<String>] = [:]
        nextNode: for node in nodes where plan.failures[node.name] == nil {
            var deps: [(PluginRequirement, String)] = []
            for req in node.requires {
                guard let provider = providers[req.name] else {
                    if req.optional {
                        plan.unmet[node.name, default: []].append((req, "no enabled plugin provides it"))
                        continue
                    }
                    plan.failures[node.name] = "requires '\(req)', which no enabled plugin provides"
                    continue nextNode
                }
                guard VersionRange(req.range)?.contains(provider.version) == true else {
                    if req.optional {
                        plan.unmet[node.name, default: []].append(
                            (req, "plugin '\(provider.plugin)' provides version \(provider.version)"))
                        continue
                    }
                    plan.failures[node.name] =
                        "requires '\(req)', but plugin '\(provider.plugin)' provides version \(provider.version)"
                    continue nextNode
                }
                if provider.plugin != node.name { deps.append((req, provider.plugin)) }
            }
            plan.dependencies[node.name] = deps.map { (requirement: $0.0, provider: $0.1) }
            edges[node.name] = Set(deps.map(\.1))
            // Edges only optional requirements make: dropped when they would close a cycle.
            optional[node.name] = Set(deps.filter(\.0.optional).map(\.1)).subtracting(deps.filter { !$0.0.optional }.map(\.1))
        }
        // Kahn's algorithm, picking ready nodes in config order for a stable result.
        var remaining = nodes.map(\.name).filter { edges[$0] != nil }
        var placed: Set<String> = []
        while !remaining.isEmpty {
            guard let next = remaining.first(where: { edges[$0]!.allSatisfy { placed.contains($0) || plan.failures[$0] != nil } })
            else {
                // Stuck: an optional requirement is an ordering, not a condition, so the optional
                // edges among what is left go (each noted unmet), and only hard ones can make a cycle.
                let left = Set(remaining)
                var dropped = false
                for name in remaining {
                    for provider in (optional[name] ?? []).intersection(left) {
                        edges[name]?.remove(provider)
                        optional[name]?.remove(provider)
                        plan.dependencies[name]?.removeAll { $0.provider == provider && $0.requirement.optional }
                        for requirement in nodes.first(where: { $0.name == name })?.requires ?? [] where requirement.optional {
                            if providers[requirement.name]?.plugin == provider {
                                plan.unmet[name, default: []].append(
                                    (requirement, "ordering after '\(provider)' would close a dependency cycle"))
                            }
                        }
                        dropped = true
                    }
                }
                if dropped { continue }
                break
            }
            plan.order.append(next)
            placed.insert(next)
            remaining.removeAll { $0 == next }
        }
        // What is left sits on or behind a cycle.
        for name in remaining {
            if let cycle = findCycle(from: name, edges: edges) {
                plan.failures[name] = "dependency cycle: " + cycle.joined(separator: " → ")
            } else {
                plan.failures[name] = "depends on a plugin in a dependency cycle"
            }
        }
        return plan
    }

    /// A cycle through `start`, as a path that returns to it, if there is one.
    private static func findCycle(from start: String, edges: [String: Set<String>]) -> [String]? {
        var path: [String] = [start]
        var visited: Set<String> = []
        func dfs(_ node: String) -> Bool {
            for next in (edges[node] ?? []).sorted() {
                if next == start {
                    path.append(start)
                    return true
                }
                if visited.insert(next).inserted {
                    path.append(next)
                    if dfs(next) { return true }
                    path.removeLast()
                }
            }
            return false
        }
        return dfs(start) ? path : nil
    }
}
