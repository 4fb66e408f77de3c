import Hummingbird

extension Gateway {
    /// `GET /v1/plugins`: every configured plugin with state, version, ABI, requires/provides,
    /// routes, health, failure reason and its figures from the kernel's metrics (read from the
    /// exposition at most once a second; states and health are always current).
    func listPlugins() throws -> Response {
        let (plugins, figures) = try pluginsWithFigures()
        let list = JSON.array(plugins.map { $0.json(metrics: figures[$0.name] ?? []) })
        return Self.json(.ok, JSON.object([("plugins", list)]).text)
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
        let plugins: [PluginInfo]
        do {
            plugins = try PluginInfo.list(from: plugin.pluginsJSON())
        } catch {
            plugin.logger.error("plugins_json could not be decoded: \(error)")
            throw Problem.internalError("the kernel's plugin list could not be read")
        }
        return (plugins, figures.current { PluginFigures.parse(plugin.metricsExposition()) })
    }
}
