import APICore
import Testing

/// Routes of a plugin the kernel lists but that is not running (`RouteTable` `resting`): they
/// answer "plugin down" by method and specificity, as served routes would match, and never
/// over a live route that is more specific or the gateway's own.
@Suite struct RestingRouteTests {
    static let soul: [(String, String, DeclaredRoute)] = [
        ("soul", "failed", DeclaredRoute(method: "GET", path: "/v1/soul/entities/{name}", topic: "soul.get", scope: "read")),
        ("soul", "failed", DeclaredRoute(method: "PUT", path: "/v1/soul/entities/{name}", topic: "soul.put", scope: "write")),
    ]

    func match(_ table: RouteTable, _ method: String, _ path: String) -> String {
        switch table.match(method: method, path: path[...]) {
        case .found(let endpoint, _): "found \(endpoint.method) \(endpoint.path)"
        case .wrongMethod(let allowed): "wrong method \(allowed)"
        case .notFound: "not found"
        case .pluginDown(let r): "down \(r.plugin) \(r.method) \(r.path) \(r.scope)"
        case .badParameter: "bad parameter"
        }
    }

    @Test func aDownPluginsRouteIsFoundByItsMethod() {
        let table = RouteTable(core: Endpoint.core(metricsPublic: false), plugins: [], resting: Self.soul)
        #expect(match(table, "PUT", "/v1/soul/entities/ann") == "down soul PUT /v1/soul/entities/{name} write")
        #expect(match(table, "GET", "/v1/soul/entities/ann") == "down soul GET /v1/soul/entities/{name} read")
        #expect(match(table, "HEAD", "/v1/soul/entities/ann") == "down soul GET /v1/soul/entities/{name} read")
        // A method it does not declare: down still, under the highest scope of the path's routes.
        #expect(match(table, "DELETE", "/v1/soul/entities/ann") == "down soul PUT /v1/soul/entities/{name} write")
        #expect(match(table, "GET", "/v1/soul/other/ann") == "not found")
    }

    @Test func aLiveRouteWinsUnlessTheDownOneIsMoreSpecific() {
        let live = [("things", DeclaredRoute(method: "GET", path: "/v1/things/{id}", topic: "things.get", scope: "read"))]
        let down: [(String, String, DeclaredRoute)] = [
            ("special", "stopped", DeclaredRoute(method: "GET", path: "/v1/things/special", topic: "special.get", scope: "read")),
            ("shadow", "failed", DeclaredRoute(method: "GET", path: "/v1/{a}/{b}", topic: "shadow.get", scope: "read")),
        ]
        let table = RouteTable(core: Endpoint.core(metricsPublic: false), plugins: live, resting: down)
        #expect(match(table, "GET", "/v1/things/42") == "found GET /v1/things/{id}")
        #expect(match(table, "GET", "/v1/things/special") == "down special GET /v1/things/special read")
        // Overlapping the gateway's own routes: never served, so it never answers either.
        #expect(match(table, "GET", "/v1/keys/abc") != "down shadow GET /v1/{a}/{b} read")
        #expect(match(table, "GET", "/v1/plugins") == "found GET /v1/plugins")
        #expect(table.resting.map(\.plugin) == ["special"])
    }
}
