import Foundation
import Testing

/// The routes under /v1/memory through the real api plugin.
@Suite struct HTTPTests {
    @Test func routesAnswerOverHTTPAndABadQueryIs400() async throws {
        try await MemoryKernel.with(http: true) { k in
            #expect(k.port > 0)
            let created = try await k.http(
                "POST", "/v1/memory/items", body: #"{"content":"the kettle is broken","tags":["home"]}"#)
            #expect(created.status == 201, "\(created.raw)")
            let id = try #require((created.body["item"] as? [String: Any])?["id"] as? String)
            #expect(((created.body["item"] as? [String: Any])?["source"] as? String) == "")
            let got = try await k.http("GET", "/v1/memory/items/\(id)")
            #expect(got.status == 200)
            #expect(got.body["content"] as? String == "the kettle is broken")
            let found = try await k.http("POST", "/v1/memory/search", body: #"{"query":"kettle"}"#)
            #expect((found.body["hits"] as? [Any])?.count == 1)
            let listed = try await k.http("GET", "/v1/memory/items?layer=short_term&tag=home&limit=5")
            #expect((listed.body["items"] as? [Any])?.count == 1, "\(listed.raw)")
            let bad = try await k.http("POST", "/v1/memory/search", body: #"{"query":"kettle AND","syntax":true}"#)
            #expect(bad.status == 400)
            #expect(bad.raw.lowercased().contains("content-type: application/problem+json"))
            #expect((bad.body["detail"] as? String)?.contains("operator") == true)
            let patched = try await k.http("PATCH", "/v1/memory/items/\(id)", body: #"{"tags":["fixed"]}"#)
            #expect(patched.body["tags"] as? [String] == ["fixed"])
            #expect(try await k.http("DELETE", "/v1/memory/items/\(id)").status == 204)
            #expect(try await k.http("GET", "/v1/memory/items/\(id)").status == 404)
            let consolidated = try await k.http("POST", "/v1/memory/consolidate")
            #expect(consolidated.status == 200)
            let openapi = try await k.http("GET", "/openapi.json")
            #expect(openapi.raw.contains("\"memorySearch\""))
        }
    }
}
