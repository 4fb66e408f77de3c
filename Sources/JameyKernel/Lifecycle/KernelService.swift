import Dispatch
import Logging
import ServiceLifecycle

/// Runs a kernel under swift-service-lifecycle: loads and starts the plugins, tells systemd it is
/// ready, waits for graceful shutdown (SIGTERM/SIGINT through the `ServiceGroup`), then stops the
/// plugins in reverse order within the configured deadline and tells systemd it is stopping.
public struct KernelService: Service {
    /// The kernel it runs.
    public let kernel: Kernel
    private let notifier: SystemdNotifier
    private let onReady: @Sendable (Kernel) -> Void

    /// - Parameters:
    ///   - kernel: the kernel to run.
    ///   - environment: where `NOTIFY_SOCKET` is read from.
    ///   - onReady: called once every plugin that could start has started.
    public init(
        kernel: Kernel, environment: [String: String] = ProcessEnvironment.current,
        onReady: @escaping @Sendable (Kernel) -> Void = { _ in }
    ) {
        self.kernel = kernel
        self.notifier = SystemdNotifier(environment: environment)
        self.onReady = onReady
    }

    public func run() async throws {
        let clock = ContinuousClock()
        let began = clock.now
        let kernel = self.kernel
        // SIGTERM during start-up: the kernel stops waiting for the hook that is running and
        // returns, so shutdown below still finishes within shutdown.timeout_ms.
        try await withGracefulShutdownHandler {
            try await Self.blocking { () throws(KernelError) in
                try kernel.load()
                try kernel.start()
            }
        } onGracefulShutdown: {
            kernel.requestShutdown()
        }
        if kernel.isShutdownRequested {
            kernel.logger.notice("jamey stopping during start-up: stopping the plugins that started")
            notifier.notify("STOPPING=1")
            try await Self.blocking { () throws(KernelError) in kernel.stop() }
            kernel.logger.notice("jamey stopped")
            return
        }
        let statuses = kernel.plugins
        let started = statuses.filter { $0.state == .started }.count
        let failed = statuses.filter { $0.state == .failed }.map(\.name)
        kernel.logger.notice(
            "jamey ready: node \(kernel.nodeName), \(started) plugin(s) started\(failed.isEmpty ? "" : ", failed: " + failed.joined(separator: ", ")) in \(Self.milliseconds(clock.now - began)) ms"
        )
        if !notifier.notify("READY=1") {
            kernel.logger.warning("could not notify \(notifier.socketPath ?? "") of readiness")
        }
        onReady(kernel)
        // Returns when graceful shutdown is triggered (signal) or the task is cancelled.
        try? await gracefulShutdown()
        kernel.logger.notice("jamey stopping: draining and stopping plugins")
        notifier.notify("STOPPING=1")
        try await Self.blocking { () throws(KernelError) in kernel.stop() }
        let abandoned = kernel.pluginsAbandonedAtStop
        if abandoned.isEmpty {
            kernel.logger.notice("jamey stopped")
        } else {
            kernel.logger.warning(
                "jamey stopped, abandoning at their stop deadline: \(abandoned.joined(separator: ", ")) (exit status 1)")
        }
    }

    static func milliseconds(_ d: Duration) -> String {
        let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        let tenths = Int((ms * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// Runs blocking kernel work on a Dispatch thread so no Swift concurrency thread is blocked.
    static func blocking(_ body: @escaping @Sendable () throws(KernelError) -> Void) async throws(KernelError) {
        let result: Result<Void, KernelError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(KernelError) {
                    try body()
                    continuation.resume(returning: .success(()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        try result.get()
    }
}
