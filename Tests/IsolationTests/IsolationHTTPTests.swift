import Foundation
import JameyKernel
import JameyTestKit
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An isolated plugin's HTTP routes, served by the api plugin in the kernel as bus requests.
@Suite("Crash isolation: HTTP")
struct IsolationHTTPTests {
    @Test func routesOfAnIsolatedPluginAnswerAndFailCleanlyAcrossACrash() async throws {
        try await IsolatedKernel.with(api: true) { k in
            var port: Int?
            _ = await eventually(timeout: .seconds(30)) {
                let detail = k.kernel.plugin(named: "api")?.health?.detail ?? ""
                port = detail.hasPrefix("listening on") ? detail.split(separator: ":").last.flatMap { Int($0) } : nil
                return port != nil
            }
            let base = "http://127.0.0.1:\(try #require(port))"
            // The api plugin learns fault_c's routes from the kernel's plugin list once it started.
            #expect(
                await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                    (try? await Self.send("GET", base + "/v1/fault_c/pid"))?.0 == 200
                })
            let (status, body) = try await Self.send("POST", base + "/v1/fault_c/echo", body: "over http")
            #expect(status == 200)
            #expect(body == "over http")
            let (pidStatus, pidText) = try await Self.send("GET", base + "/v1/fault_c/pid")
            #expect(pidStatus == 200)
            let pid = try #require(Int32(pidText))

            #expect(try await k.ask("fault_c.crash").status == "503")
            // While it restarts the route answers 503 (problem+json) or, once back, 200.
            let (during, text) = try await Self.send("GET", base + "/v1/fault_c/pid")
            #expect(during == 503 || during == 200, "\(during) \(text)")
            if during == 503 { #expect(text.contains("plugin-unavailable")) }
            var back: Int32?
            _ = await eventually(timeout: .seconds(60), polling: .milliseconds(20)) {
                guard let (code, text) = try? await Self.send("GET", base + "/v1/fault_c/pid"), code == 200 else { return false }
                back = Int32(text)
                return back != nil && back != pid
            }
            #expect(back != nil)
        }
    }

    static func send(_ method: String, _ url: String, body: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        if let body { request.httpBody = Data(body.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, String(decoding: data, as: UTF8.self))
    }
}
