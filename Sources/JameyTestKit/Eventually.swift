import Foundation

/// Polls `condition`, suspending between polls (never blocking a thread), until it holds or
/// `timeout` passes. For async tests; the pool thread is free while it waits.
///
/// ```swift
/// #expect(await eventually { seen.count == 1 })
/// ```
/// - Parameters:
///   - timeout: how long to keep polling.
///   - interval: the pause between polls.
///   - condition: the condition; it runs on the caller's task.
/// - Returns: whether the condition held in time (it is checked once more after the deadline).
/// - Throws: what `condition` throws, at once.
public func eventually(
    timeout: Duration = .seconds(20), polling interval: Duration = .milliseconds(2),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

extension TestKernel {
    /// Waits until `condition` holds, polling every millisecond, up to `timeout`, blocking the
    /// calling thread. For synchronous tests and for threads of their own (see ``onThread(_:)``);
    /// an async test uses ``eventually(timeout:polling:_:)`` instead.
    /// - Returns: whether it held in time (it is checked once more after the deadline).
    @discardableResult
    public static func eventually(timeout: Duration = .seconds(30), _ condition: () -> Bool) -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if condition() { return true }
            usleep(1000)
        }
        return condition()
    }
}
