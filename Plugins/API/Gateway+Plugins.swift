import APICore
import Hummingbird
import JameyPluginKit

extension Gateway {
    /// `GET /v1/plugins`: every configured plugin with state, version, ABI, requires/provides,
    /// routes, cached health, failure reason and its figures, from the kernel's typed list.
    func listPlugins() throws -> Response {
        // The kernel's generation moves with every state and health change; the figures are
        // compared as numbers. While neither changed, the last body is the same answer.
        let generation = plugin.pluginsGeneration
        let list = try snapshots()
        let figures = list.map(\.figures)
        if let body = renderedList.withLock({ $0?.generation == generation && $0?.figures == figures ? $0?.body : nil }) {
            return Self.json(.ok, body)
        }
        let body = JSON.object([("plugins", .array(list.map(\.json)))]).text
        renderedList.withLock { $0 = (generation, figures, body) }
        return Self.json(.ok, body)
    }

    /// `GET /v1/plugins/{name}`: one plugin, or 404.
    func showPlugin(_ name: String) throws -> Response {
        guard let found = try snapshots().first(where: { $0.name == name }) else {
            throw Problem.notFound("no plugin named '\(Self.printable(name))' is configured")
        }
        return Self.json(.ok, found.json.text)
    }

    /// The kernel's plugin list (ABI 1.3 `plugin_list`).
    func snapshots() throws -> [PluginSnapshot] {
        do {
            return try plugin.plugins()
        } catch {
            plugin.logger.error("the kernel's plugin list could not be read: \(error)")
            throw Problem.internalError("the kernel's plugin list could not be read")
        }
    }
}
