import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Runs the gateway on Hummingbird: binds, serves until ``stop(grace:)``, then lets in-flight
/// requests finish (up to the grace period) before closing what is left.
final class GatewayServer: Sendable {
    private let gateway: Gateway
    private let settings: APIConfiguration
    private let logger: Logger
    private let running = Mutex<(group: ServiceGroup, task: Task<Void, Never>)?>(nil)

    /// - Parameters:
    ///   - gateway: the responder.
    ///   - settings: listen address, limits, TLS.
    ///   - logger: where Hummingbird's own lines go.
    init(gateway: Gateway, settings: APIConfiguration, logger: Logger) {
        self.gateway = gateway
        self.settings = settings
        self.logger = logger
    }

    /// Binds and starts serving.
    /// - Returns: the bound address (`127.0.0.1:8080`).
    /// - Throws: ``StartError`` when TLS files cannot be read or the address cannot be bound.
    func start() async throws -> String {
        let server = try serverBuilder()
        let (events, continuation) = AsyncStream.makeStream(of: Result<String, StartError>.self)
        let maxConnections = settings.limits.maxConnections
        let configuration = ApplicationConfiguration(
            address: .hostname(settings.host, port: settings.port), serverName: nil, backlog: 1024, reuseAddress: true,
            availableConnectionsDelegate: maxConnections > 0 ? .maximum(maxConnections, logger: logger) : nil)
        let host = settings.host
        let port = settings.port
        let app = Application(
            responder: gateway, server: server, configuration: configuration,
            onServerRunning: { channel in
                let address = channel.localAddress
                continuation.yield(.success("\(address?.ipAddress ?? host):\(address?.port ?? port)"))
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let where_ = "\(settings.host):\(settings.port)"
        let task = Task {
            do {
                try await group.run()
                continuation.yield(.failure(StartError("the server on \(where_) stopped before it was running")))
            } catch {
                continuation.yield(.failure(StartError("cannot serve HTTP on \(where_): \(error)")))
            }
            continuation.finish()
        }
        running.withLock { $0 = (group, task) }
        for await event in events {
            switch event {
            case .success(let address): return address
            case .failure(let error): throw error
            }
        }
        throw StartError("the server on \(where_) stopped before it was running")
    }

    /// Stops accepting connections, lets in-flight requests finish for up to `grace`, then
    /// cancels what is left. Returns when the server has stopped.
    func stop(grace: Duration) async {
        guard
            let (group, task) = running.withLock({ state in
                defer { state = nil }; return state
            })
        else { return }
        await group.triggerGracefulShutdown()
        let deadline = Task {
            try? await Task.sleep(for: grace)
            if !Task.isCancelled { task.cancel() }
        }
        await task.value
        deadline.cancel()
    }

    private func serverBuilder() throws -> HTTPServerBuilder {
        let limits = settings.limits
        let milliseconds = { (value: Int) -> TimeAmount? in value > 0 ? .milliseconds(Int64(value)) : nil }
        let (headTimeout, bodyTimeout) = (milliseconds(limits.headerTimeoutMs), milliseconds(limits.bodyTimeoutMs))
        let writeTimeout = milliseconds(limits.writeTimeoutMs)
        let timed = headTimeout != nil || bodyTimeout != nil
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: (timed ? [HeadReceivedHandler()] : []) + [CloseAfterResponseHandler()],
            idleTimeout: milliseconds(limits.idleTimeoutMs),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: 200))
        let connections = ConnectionLimits(
            // Idle connections are known only to the head timeout's handler: without it, none
            // is closed to make room (one answering a request could be taken for idle).
            perClient: limits.maxConnectionsPerClient, total: timed ? limits.maxConnections : 0,
            exempt: Set(settings.trustedProxies.compactMap(APIConfiguration.clientAddress)), metrics: gateway.metrics)
        let plain = HTTPServerBuilder { [gateway] responder in
            GatewayChannel(
                base: HTTP1Channel(responder: responder, configuration: http1), connections: connections,
                headTimeout: headTimeout, bodyTimeout: bodyTimeout, writeTimeout: writeTimeout,
                metrics: gateway.metrics, malformed: { [weak gateway] in gateway?.noteMalformed(reason: $0, client: $1) })
        }
        guard settings.tls.enabled else { return plain }
        do {
            return try .tls(plain, tlsConfiguration: try settings.tls.serverConfiguration())
        } catch let error as TLSFileError {
            throw StartError(error.message)
        } catch {
            throw StartError("cannot use TLS files \(settings.tls.certFile) and \(settings.tls.keyFile): \(error)")
        }
    }

    /// Why the server could not start, as a sentence.
    struct StartError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
