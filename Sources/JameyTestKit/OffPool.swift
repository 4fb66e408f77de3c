import Foundation

/// Runs blocking work (a kernel boot or shutdown, socket I/O, waiting for a process) on a thread
/// of its own and suspends until it returns.
///
/// Swift Testing runs suites in parallel on a cooperative pool of two threads here: a test that
/// blocks a pool thread can starve the plugin hooks and servers every other test is waiting for,
/// and hang the whole run. Anything that blocks goes through this instead.
///
/// ```swift
/// let k = try await onThread { try TestKernel.boot(plugins: plugins) }
/// _ = await onThread { k.shutdown() }
/// ```
/// - Parameter body: the blocking work; it runs on a new `Thread`, never on the pool.
/// - Returns: what `body` returns.
/// - Throws: what `body` throws (nothing when it does not throw).
public func onThread<Value: Sendable, Failure: Error>(
    _ body: @escaping @Sendable () throws(Failure) -> Value
) async throws(Failure) -> Value {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, Failure>, Never>) in
        Thread { continuation.resume(returning: Result(catching: body)) }.start()
    }
    return try result.get()
}

/// Runs `body` with `resource` (a booted test kernel, say), then `stop`s it whether `body`
/// returned or threw.
public func withStopping<Resource>(
    _ resource: Resource, stop: (Resource) async -> Void, _ body: (Resource) async throws -> Void
) async throws {
    do {
        try await body(resource)
    } catch {
        await stop(resource)
        throw error
    }
    await stop(resource)
}

/// The other way round from ``onThread(_:)``: blocks the calling thread — one of the test's own,
/// or a hook of the code under test that runs on one (never a pool thread) — while `body` runs as
/// a task on the pool, until it finishes or `timeout` seconds pass (nil: however long it takes).
///
/// ```swift
/// store.afterMergeCommit.withLock {
///     $0 = { waitForTask(timeout: 20) { seen.set(try? await store.search(query)) } }
/// }
/// ```
/// - Returns: whether `body` finished in time.
@discardableResult
public func waitForTask(timeout: Double? = nil, _ body: @escaping @Sendable () async -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    Task {
        await body()
        done.signal()
    }
    guard let timeout else {
        done.wait()
        return true
    }
    return done.wait(timeout: .now() + timeout) == .success
}
