import APICore
import HTTPTypes
import Hummingbird
import NIOCore

extension Gateway {
    /// Runs the handler of an authorised request.
    func dispatch(_ call: Call) async throws -> Response {
        switch call.endpoint.action {
        case .healthz: return Self.healthy
        case .readyz: return readiness()
        case .metrics: return metricsExposition()
        case .openAPI: return Self.json(.ok, openAPIText())
        case .listPlugins: return try listPlugins()
        case .showPlugin: return try showPlugin(call.parameter("name"))
        case .publish: return try await publish(call)
        case .request: return try await request(call)
        case .subscribe: return try subscribe(call)
        case .createKey: return try await createKey(call)
        case .listKeys: return try listKeys(call)
        case .deleteKey: return try await deleteKey(call.parameter("id"))
        case .reloadConfig: return try await operation(call, topic: "kernel.config.reload")
        case .deployPlugin: return try await operation(call, topic: "kernel.plugins.deploy")
        case .canary(let operation): return try await self.operation(call, topic: "kernel.plugins.canary." + operation)
        case .forward(let plugin, let topic):
            let timeout = call.endpoint.isLongRunning ? settings.limits.operationTimeoutMs : nil
            return try await forward(call, plugin: plugin, topic: topic, timeoutMs: timeout)
        }
    }

    /// A JSON response.
    static func json(_ status: HTTPResponse.Status, _ text: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Reads the whole request body, refusing bodies over `limit` bytes with 413 (from the
    /// `Content-Length` alone when it says so).
    func body(of request: Request, limit: Int? = nil) async throws -> ByteBuffer {
        let limit = limit ?? settings.limits.maxBodyBytes
        let length = request.headers[.contentLength].flatMap { Int($0) }
        if let length, length > limit { throw Problem.tooLarge(limit: limit) }
        // No Content-Length and no Transfer-Encoding: HTTP/1.1 says there is no body; skip the
        // (asynchronous) read of the empty stream.
        if length == 0 || (length == nil && request.headers[.transferEncoding] == nil) { return ByteBuffer() }
        var collected = ByteBuffer()
        do {
            for try await part in request.body {
                guard collected.readableBytes + part.readableBytes <= limit else { throw Problem.tooLarge(limit: limit) }
                var part = part
                collected.writeBuffer(&part)
            }
        } catch let problem as Problem {
            throw problem
        } catch {
            // The client's framing (a bad chunk size, a body cut short): its fault, not a 500.
            throw Problem.badRequest("the request body could not be read: \(error)")
        }
        return collected
    }
}
