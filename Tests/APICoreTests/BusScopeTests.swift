import APICore
import Testing

/// The scope the bus routes need for a topic (`RouteTable.busScope(for:)`): the highest any
/// plugin declares a route with for it, served or not, and admin for the kernel's topics.
@Suite struct BusScopeTests {
    @Test func theHighestDeclaredScopeGuardsATopicWhetherItsRouteIsServedOrNot() {
        let served: [(String, DeclaredRoute)] = [
            ("vault", DeclaredRoute(method: "POST", path: "/v1/vault/restore", topic: "vault.restore.run", scope: "admin")),
            ("memory", DeclaredRoute(method: "GET", path: "/v1/memory/items", topic: "memory.items.list", scope: "read")),
            ("memory", DeclaredRoute(method: "POST", path: "/v1/memory/items", topic: "memory.items.store", scope: "write")),
            // Refused: it clashes with the gateway's own route, so it is never served.
            ("bad", DeclaredRoute(method: "GET", path: "/v1/keys", topic: "bad.secret", scope: "admin")),
            ("odd", DeclaredRoute(method: "GET", path: "/v1/odd", topic: "odd.thing", scope: "root")),
        ]
        // A plugin still starting: its routes are listed, not served.
        let starting = [("late", DeclaredRoute(method: "POST", path: "/v1/late/run", topic: "late.run", scope: "admin"))]
        let table = RouteTable(core: Endpoint.core(metricsPublic: false), plugins: served, declared: served + starting)
        #expect(table.rejected.count == 2)
        #expect(table.busScope(for: "vault.restore.run") == .admin)
        #expect(table.busScope(for: "bad.secret") == .admin, "a refused route's scope still holds")
        #expect(table.busScope(for: "odd.thing") == .admin, "an unknown scope is taken as admin")
        #expect(table.busScope(for: "late.run") == .admin, "a starting plugin's scope holds before it serves")
        #expect(table.busScope(for: "memory.items.store") == .write)
        #expect(table.busScope(for: "memory.items.list") == .write, "the bus routes are write routes")
        #expect(table.busScope(for: "sensors.kitchen.temp") == .write)
        #expect(table.busScope(for: "kernel.plugins.deploy") == .admin)
        #expect(table.busScope(for: "kernel") == .admin)
        #expect(table.busScope(for: "kernelx.y") == .write)
    }
}
