import Foundation
import Testing

/// `/openapi.json`: an OpenAPI 3.1 document of the core routes and the loaded plugins' routes.
@Suite struct OpenAPITests {
    @Test func documentListsCoreAndPluginRoutes() async throws {
        try await APIKernel.with() { k in
            let r = try await HTTP.get(k.port, "/openapi.json")
            #expect(r.status == 200)
            #expect(r.header("content-type") == "application/json")
            let doc = r.json
            #expect(doc["openapi"] as? String == "3.1.0")
            #expect((doc["info"] as? [String: Any])?["title"] as? String == "Jamey HTTP API")
            let paths = try #require(doc["paths"] as? [String: [String: Any]])
            for path in [
                "/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/plugins", "/v1/plugins/{name}",
                "/v1/bus/publish/{topic}",
                "/v1/bus/request/{topic}", "/v1/bus/subscribe", "/v1/keys", "/v1/keys/{id}", "/v1/hello/{name}",
                "/v1/probe/items/{id}/parts/{part}",
            ] {
                #expect(paths[path] != nil, "\(path) missing")
            }
            #expect(
                paths["/healthz"]?["get"].map { ($0 as? [String: Any])?["operationId"] as? String } == "healthz",
                "refused routes are not listed")
            let hello = try #require(paths["/v1/hello/{name}"]?["get"] as? [String: Any])
            #expect(hello["summary"] as? String == "Greet someone through HelloC")
            let parameters = try #require(hello["parameters"] as? [[String: Any]])
            #expect(parameters.first?["name"] as? String == "name")
            #expect(parameters.first?["in"] as? String == "path")
            #expect(parameters.first?["required"] as? Bool == true)
            let healthz = try #require(paths["/healthz"]?["get"] as? [String: Any])
            #expect((healthz["security"] as? [Any])?.isEmpty == true, "public routes need no key")
            // Every operation has an id, responses, and every $ref resolves.
            let components = try #require(doc["components"] as? [String: Any])
            var ids = Set<String>()
            for (_, operations) in paths {
                for (_, value) in operations {
                    let operation = try #require(value as? [String: Any])
                    let id = try #require(operation["operationId"] as? String)
                    #expect(ids.insert(id).inserted, "duplicate operationId \(id)")
                    #expect(operation["responses"] is [String: Any])
                }
            }
            for ref in references(in: doc) {
                let parts = ref.dropFirst(2).split(separator: "/").map(String.init)
                var node: Any? = ["components": components]
                for part in parts { node = (node as? [String: Any])?[part] }
                #expect(node != nil, "unresolved \(ref)")
            }
        }
    }

    private func references(in value: Any) -> [String] {
        if let object = value as? [String: Any] {
            return (object["$ref"] as? String).map { [$0] } ?? object.values.flatMap(references)
        }
        if let array = value as? [Any] { return array.flatMap(references) }
        return []
    }
}
