import APICore
import Hummingbird

extension Gateway {
    /// `GET /v1/plugins`: every configured plugin with state, version, ABI, requires/provides,
    /// routes, health, failure reason and its figures from the kernel's metrics (read from the
    /// exposition at most once a second; states and health are always current).
    func listPlugins() throws -> Response {
        // The kernel's text is cheap to get; decoding and re-rendering it is not. While neither
        // it (states, health) nor the figures changed, the last body is the same answer.
        let source = plugin.pluginsJSON()
        let figures = figures.current { PluginFigures.parse(plugin.metricsExposition()) }
        if let body = renderedList.withLock({ $0?.source == source && $0?.figures == figures.stamp ? $0?.body : nil }) {
            return Self.json(.ok, body)
        }
        let plugins = try decode(source)
        let list = JSON.array(plugins.map { $0.json(metrics: figures.values[$0.name] ?? []) })
        let body = JSON.object([("plugins", list)]).text
        renderedList.withLock { $0 = (source, figures.stamp, body) }
        return Self.json(.ok, body)
    }

    /// `GET /v1/plugins/{name}`: one plugin, or 404.
    func showPlugin(_ name: String) throws -> Response {
        let (plugins, figures) = try pluginsWithFigures()
        guard let found = plugins.first(where: { $0.name == name }) else {
            throw Problem.notFound("no plugin named '\(Self.printable(name))' is configured")
        }
        return Self.json(.ok, found.json(metrics: figures[found.name] ?? []).text)
    }

    private func pluginsWithFigures() throws -> ([PluginInfo], [String: [(String, Double)]]) {
        let plugins = try decode(plugin.pluginsJSON())
        return (plugins, figures.current { PluginFigures.parse(plugin.metricsExposition()) }.values)
    }

    private func decode(_ source: String) throws -> [PluginInfo] {
        do {
            return try PluginInfo.list(from: source)
        } catch {
            plugin.logger.error("plugins_json could not be decoded: \(error)")
            throw Problem.internalError("the kernel's plugin list could not be read")
        }
    }
}
