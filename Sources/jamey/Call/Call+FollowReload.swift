import ArgumentParser
import Foundation

extension Call {
    /// `jamey_config_reloads_total` by result, read from `GET /metrics`; nil when it cannot be
    /// read (no server, no key with the read scope).
    static func reloadCounts(_ client: HTTPClient, key: String?) -> [String: Double]? {
        var request = HTTPRequest(method: "GET", target: "/metrics")
        if let key { request.headers.append(("Authorization", "Bearer " + key)) }
        var body: [UInt8] = []
        guard let head = try? client.exchange(request, streaming: { _ in false }, onBody: { body += $0 }),
            head.status == 200
        else { return nil }
        var counts: [String: Double] = [:]
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n")
        where line.hasPrefix("jamey_config_reloads_total{") {
            guard let open = line.range(of: "result=\""), let close = line[open.upperBound...].firstIndex(of: "\""),
                let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { continue }
            counts[String(line[open.upperBound..<close]), default: 0] += value
        }
        return counts
    }

    /// After a reload answered 202 (it restarts the api plugin, which answered as it stopped):
    /// waits for the server to answer again and for the reload's result to be counted, then
    /// ends as the reload did — 0 applied, 5 rolled back — rather than 0 whatever happened.
    /// - Parameters:
    ///   - baseline: the counts read before the reload was sent.
    ///   - server: the server.
    ///   - key: the admin key.
    ///   - seconds: how long to wait in all (each poll waits at most what is left).
    func followReload(from baseline: [String: Double], server: ServerURL, key: String?, seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            Thread.sleep(forTimeInterval: 0.25)
            let left = min(5, max(0.1, deadline.timeIntervalSinceNow))
            let client = HTTPClient(server: server, timeout: .milliseconds(Int64(left * 1000)))
            guard let now = Self.reloadCounts(client, key: key) else { continue }
            let grown = now.filter { $0.value > baseline[$0.key, default: 0] }.map(\.key)
            guard !grown.isEmpty else { continue }
            if grown.contains("rolled_back") {
                printError(
                    "\(asCommand): the reload failed and was rolled back once the api plugin had stopped: the server log says why"
                )
                throw CallExitCode.serverError
            }
            if grown.contains("invalid") {
                printError("\(asCommand): the reload was refused: the server log says why")
                throw CallExitCode.clientError
            }
            printError("\(asCommand): the reload was applied (the api plugin restarted)")
            return
        }
        printError(
            "\(asCommand): the reload restarted the api plugin and no outcome came within \(Int(seconds)) s at \(server.text) (if the reload moved the api plugin, ask there): see the server log"
        )
        throw CallExitCode.unreachable
    }
}
