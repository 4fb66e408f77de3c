import APICore
import Foundation
import HTTPTypes
import Hummingbird
import JameyPluginKit
import NIOCore

extension Gateway {
    /// `GET /healthz`: the gateway answers.
    static let healthy = json(.ok, #"{"status":"ok"}"#)

    /// `GET /readyz`: 200 when every required plugin is started and not reporting itself
    /// unhealthy, and no enabled plugin is still starting or stopping (optional plugins that
    /// failed or report unhealthy are listed but do not block); 503 with the reasons otherwise,
    /// or while the gateway is stopping.
    func readiness() -> Response {
        guard !isStopping else {
            return Problem.unavailable("the gateway is shutting down", slug: "not-ready").response()
        }
        let plugins: [PluginSnapshot]
        do {
            plugins = try plugin.plugins()
        } catch {
            return Problem.unavailable("the kernel's plugin list could not be read", slug: "not-ready").response()
        }
        var reasons: [String] = []
        var degraded: [JSON] = []
        var unhealthy: [JSON] = []
        for p in plugins where p.state == .started && p.health?.statusName == "unhealthy" && p.name != plugin.name {
            if p.required {
                reasons.append("required plugin '\(p.name)' is unhealthy: \(p.health?.detail ?? "")")
            } else {
                unhealthy.append(.string(p.name))
            }
        }
        for p in plugins where p.state != .disabled && p.state != .started {
            if p.state == .failed && !p.required {
                degraded.append(.string(p.name))
            } else if p.state == .failed {
                reasons.append("required plugin '\(p.name)' failed: \(p.failure ?? "no reason given")")
            } else if p.name != plugin.name {
                reasons.append("plugin '\(p.name)' is \(p.state), not started")
            }
        }
        guard reasons.isEmpty else {
            return Problem.unavailable(reasons.joined(separator: "; "), slug: "not-ready").response()
        }
        return Self.json(
            .ok,
            JSON.object([
                ("status", .string("ready")), ("failed_optional", .array(degraded)), ("unhealthy_optional", .array(unhealthy)),
            ]).text)
    }

    /// `GET /metrics`: the kernel's Prometheus exposition, which includes this plugin's metrics.
    func metricsExposition() -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: plugin.metricsExposition())))
    }
}
