import Foundation

/// Runs blocking work (socket I/O, kernel boot and shutdown) on its own thread, so tests never
/// block Swift's cooperative pool: on two cores, two tests blocked there would starve the
/// server and the plugin hooks they are waiting for.
enum Blocking {
    /// Runs `body` on a new thread and returns its result.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

/// Polls an async condition until it holds, up to a bound.
/// - Returns: whether it held in time.
func eventually(timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return await condition()
}
