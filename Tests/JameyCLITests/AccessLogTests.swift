import Foundation
import JameyTestKit
import Testing

/// The gateway's access log against a client it refuses: each rate-limited request wrote a line
/// of its own (3 000 refused requests, 3 000 lines in 2.3 s, each up to 15 KB with a long path),
/// so any client could write the log as fast as it could send.
@Suite struct AccessLogTests {
    @Test func rateLimitedRequestsAreLoggedAtMostTenASecond() throws {
        let api = "port: 0\naccess_log: true\nrate_limits:\n  public: {rate: 0.001, burst: 1}\n"
        let server = try LiveServer(api: api)
        let long = String(repeating: "a", count: 5000)
        // The first takes the one token (a 404, logged whole but for its path); the rest are refused.
        let urls = [server.url + "/" + long] + Array(repeating: server.url + "/openapi.json", count: 300)
        let run = try Run.command("/usr/bin/curl", ["-s", "-w", "%{http_code}\n"] + urls.flatMap { ["-o", "/dev/null", $0] })
        let codes = run.stdout.split(separator: "\n")
        #expect(codes.count == 301)
        #expect(codes.first == "404")
        #expect(codes.filter { $0 == "429" }.count == 300, "\(Set(codes))")
        // One of each second's first ten refusals (a slow run spans a few seconds).
        var lines: [Substring] = []
        #expect(
            TestKernel.eventually(timeout: .seconds(30)) {
                lines = server.log.split(separator: "\n").filter { $0.contains("GET /openapi.json status=429 ") }
                return lines.count >= 10
            }, "\(server.log.suffix(2000))")
        #expect(lines.count < 100, "\(lines.count) lines for 300 refusals")
        let longLine = server.log.split(separator: "\n").first { $0.contains("GET /aaaa") && $0.contains(" status=404 ") }
        #expect(longLine.map { $0.count < 600 && $0.contains("…") } == true, "the path is cut to 200 characters")

        // Probes are never rate limited, so their lines have a budget of their own.
        let probes = try Run.command(
            "/usr/bin/curl",
            ["-s", "-w", "%{http_code}\n"]
                + Array(repeating: ["-o", "/dev/null", server.url + "/healthz"], count: 300).flatMap { $0 })
        #expect(probes.stdout.split(separator: "\n").filter { $0 == "200" }.count == 300)
        var probeLines = 0
        #expect(
            TestKernel.eventually(timeout: .seconds(30)) {
                probeLines = server.log.split(separator: "\n").filter { $0.contains("GET /healthz status=200 ") }.count
                return probeLines >= 10
            })
        #expect(probeLines < 100, "\(probeLines) lines for 300 probes")
    }

    /// A request the HTTP decoder cannot parse is answered 400 by Hummingbird without reaching
    /// the gateway, and was neither counted nor logged. Now it is both (the log at most ten lines
    /// a second, as refusals are: `LogBudgetTests`).
    @Test func aMalformedRequestIsCountedAndLogged() throws {
        let server = try LiveServer(api: "port: 0\naccess_log: true\n")
        let port = try #require(server.url.split(separator: ":").last.map(String.init))
        // A header line without a colon, 31 times, each on a connection of its own.
        let script = """
            for i in $(seq 31); do
              exec 3<>/dev/tcp/127.0.0.1/\(port)
              printf 'GET /v1/plugins HTTP/1.1\\r\\nHost: x\\r\\nno colon here\\r\\n\\r\\n' >&3
              timeout 10 head -n 1 <&3
              exec 3<&-
            done
            """
        let sent = try Run.command("/bin/bash", ["-c", script])
        let statuses = sent.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(statuses.count == 31 && statuses.allSatisfy { $0 == "HTTP/1.1 400 Bad Request" }, "\(statuses)")
        let key = try server.adminKey
        var metrics = ""
        #expect(
            TestKernel.eventually(timeout: .seconds(30)) {
                metrics =
                    (try? Run.command("/usr/bin/curl", ["-s", "-H", "X-API-Key: \(key)", server.url + "/metrics"]))?.stdout ?? ""
                return metrics.contains(#"api_http_malformed_requests_total{plugin="api",reason="invalid_header_token"} 31"#)
            }, "\(metrics.split(separator: "\n").filter { $0.contains("malformed") })")
        var lines: [Substring] = []
        #expect(
            TestKernel.eventually(timeout: .seconds(30)) {
                lines = server.log.split(separator: "\n").filter { $0.contains("malformed request") }
                return !lines.isEmpty
            }, "\(server.log.suffix(2000))")
        let pattern = #/ plugin=api malformed request status=400 reason=invalid_header_token client=127\.0\.0\.1( omitted=\d+)?$/#
        #expect(lines.allSatisfy { $0.contains(pattern) }, "\(lines.first ?? "")")
    }

    /// A request's line carries its parts as fields: `key=value` after the message in text, and
    /// members of the object with `log.format: json`, which a log shipper reads without parsing
    /// the message.
    @Test func aRequestsLineCarriesItsPartsAsFields() throws {
        let text = try LiveServer(api: "port: 0\naccess_log: true\n")
        let sent = try Run.command(
            "/usr/bin/curl", ["-s", "-o", "/dev/null", "-H", "X-Request-Id: trace-7", text.url + "/v1/plugins"])
        #expect(sent.status == 0)
        var line: Substring?
        #expect(
            TestKernel.eventually(timeout: .seconds(30)) {
                line = text.log.split(separator: "\n").first { $0.contains("request_id=trace-7") }
                return line != nil
            }, "\(text.log.suffix(2000))")
        let pattern =
            #/ plugin=api GET /v1/plugins status=401 duration_ms=\d+\.\d{3} key=- client=127\.0\.0\.1 request_id=trace-7$/#
        #expect(line.map { $0.contains(pattern) } == true, "\(line ?? "")")

        let json = try LiveServer(api: "port: 0\naccess_log: true\n", environment: ["JAMEY_LOG_FORMAT": "json"])
        let key = try json.adminKey
        let asked = try Run.command(
            "/usr/bin/curl",
            ["-s", "-o", "/dev/null", "-H", "X-Request-Id: trace-8", "-H", "X-API-Key: \(key)", json.url + "/v1/plugins"])
        #expect(asked.status == 0)
        var object: [String: Any]?
        #expect(
            TestKernel.eventually(timeout: .seconds(30)) {
                object =
                    json.log.split(separator: "\n").lazy.compactMap {
                        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                    }.first { $0["request_id"] as? String == "trace-8" }
                return object != nil
            }, "\(json.log.suffix(2000))")
        #expect(object?["message"] as? String == "GET /v1/plugins")
        #expect(object?["status"] as? String == "200")
        #expect(object?["plugin"] as? String == "api")
        #expect(object?["label"] as? String == "jamey.plugin.api")
        #expect(object?["client"] as? String == "127.0.0.1")
        let keyID = object?["key"] as? String ?? "-"
        #expect(keyID != "-" && key.contains("_" + keyID + "_"), "the key's id: \(keyID)")
        #expect(Double(object?["duration_ms"] as? String ?? "") != nil)
        #expect(!json.log.contains(key), "the key itself is never logged")
    }
}
