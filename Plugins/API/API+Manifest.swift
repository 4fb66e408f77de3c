import JameyPluginKit

extension API {
    /// The config schema of `plugins.api.config`; `jamey plugins inspect libAPI.so` prints it.
    static let configuration: [ConfigKey] = [
        .string("host", default: "127.0.0.1", length: 1...255, description: "Address to listen on"),
        .int("port", default: 8080, range: 0...65535, description: "Port to listen on (0: any free port)"),
        .string(
            "admin_key", secret: true, length: 16...512,
            description: "An admin API key; JAMEY_API_ADMIN_KEY takes precedence (neither: admin.key is generated)"),
        .bool("metrics_public", default: false, description: "Serve /metrics without a key"),
        .bool("access_log", default: true, description: "Log one line per request (method, path, status, duration, key id)"),
        .stringList(
            "trusted_proxies", default: [], description: "Peer addresses whose X-Forwarded-For names the client"),
        .int(
            "key_retention_days", default: 90, range: 0...36500,
            description:
                "Days a revoked or expired API key is kept (listed, and refused as revoked or expired) before it is deleted; 0 keeps them"
        ),
        .object(
            "limits", description: "Size and time limits",
            fields: [
                .int(
                    "max_body_bytes", default: 1_048_576, range: 0...1_073_741_824,
                    description: "Largest request body (413 beyond)"),
                .int(
                    "max_header_bytes", default: 16384, range: 1024...1_048_576,
                    description: "Largest request head (header fields)"),
                .int(
                    "header_timeout_ms", default: 10000, range: 0...600_000,
                    description: "Time to receive a request head (0: none)"),
                .int(
                    "body_timeout_ms", default: 30000, range: 0...3_600_000,
                    description:
                        "Time to receive a request body once its head arrived, plus 1 s per 1000 bytes (408 and close; 0: none)"),
                .int(
                    "write_timeout_ms", default: 30000, range: 0...3_600_000,
                    description: "A client leaving a response stuck in the full send buffer this long is disconnected (0: never)"),
                .int(
                    "idle_timeout_ms", default: 60000, range: 0...3_600_000,
                    description: "Idle connections close after this (0: never)"),
                .int(
                    "max_connections", default: 4096, range: 0...1_000_000,
                    description: "Open connections of all clients; beyond, new ones wait to be accepted (0: no cap)"),
                .int(
                    "max_connections_per_client", default: 256, range: 0...1_000_000,
                    description: "Open connections of one client address, trusted proxies aside (503 and close beyond; 0: no cap)"
                ),
                .int(
                    "request_timeout_ms", default: 5000, range: 1...600_000,
                    description: "Bus request timeout for HTTP requests (504 beyond)"),
                .int(
                    "operation_timeout_ms", default: 300_000, range: 1000...3_600_000,
                    description: "Time a kernel operation (config reload, deploy, canary) may take before 504"),
                .int(
                    "shutdown_grace_ms", default: 4000, range: 0...600_000,
                    description:
                        "In-flight requests may finish this long at stop (at most what hooks.stop_timeout_ms leaves, less 500 ms)"
                ),
                .int("max_sse_streams", default: 64, range: 0...100_000, description: "Concurrent event streams (503 beyond)"),
                .int(
                    "max_sse_streams_per_caller", default: 8, range: 1...100_000,
                    description: "Concurrent event streams of one key (of one client address without a key; 429 beyond)"),
                .int(
                    "max_bus_requests_per_caller", default: 64, range: 0...1_000_000,
                    description:
                        "/v1/bus/request calls of one key (one client address without a key) waiting at once (429 beyond; 0: no cap)"
                ),
                .int(
                    "sse_heartbeat_ms", default: 15000, range: 100...3_600_000,
                    description: "Keep-alive comment interval on event streams"),
            ]),
        .object(
            "rate_limits", description: "Token buckets: rate per second and burst, per key (per client address without one)",
            fields: [
                bucket("public", rate: 20, burst: 40, "Requests without a valid key, per client address"),
                bucket("read", rate: 50, burst: 100, "Each key with scope read"),
                bucket("write", rate: 20, burst: 40, "Each key with scope write"),
                bucket("admin", rate: 50, burst: 100, "Each key with scope admin"),
            ]),
        .object(
            "cors", description: "Cross-origin requests from browsers",
            fields: [
                .stringList("allowed_origins", default: [], description: "Origins allowed (exact, or *); empty: none"),
                .int("max_age_seconds", default: 600, range: 0...86400, description: "Preflight cache time"),
            ]),
        .object(
            "tls", description: "HTTPS from PEM files (both or neither)",
            fields: [
                .path("cert_file", default: "", description: "Certificate chain (PEM)"),
                .path("key_file", default: "", description: "Private key (PEM)"),
            ]),
    ]

    private static func bucket(_ name: String, rate: Double, burst: Int64, _ description: String) -> ConfigKey {
        .object(
            name, description: description,
            fields: [
                .double("rate", default: rate, range: 0...1_000_000_000, description: "Requests per second (0: unlimited)"),
                .int("burst", default: burst, range: 1...1_000_000_000, description: "Bucket capacity"),
            ])
    }
}
