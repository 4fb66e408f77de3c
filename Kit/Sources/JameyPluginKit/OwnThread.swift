import Foundation

/// Runs blocking work on a thread of its own and suspends the calling task until it returns.
///
/// A plugin's async code (its `respond` handlers, the tasks it starts) runs on the Swift
/// concurrency pool, which has one thread per core and is shared by every plugin in the process:
/// a call that holds one of its threads while it waits (a long SQLite transaction, or one queued
/// behind another writer; a batch of synchronous reads; a kernel call that runs another plugin's
/// hook) stalls everything else queued there, and a few at once stall the process. Such work
/// goes through this; short, non-blocking work stays on the pool.
///
/// ```swift
/// let rows = try await onOwnThread(named: "cache-warm") { try store.hottest(limit: 10_000) }
/// ```
/// - Parameters:
///   - name: the thread's name (in `top -H`, `perf` and a debugger).
///   - body: the blocking work.
/// - Returns: what `body` returns.
/// - Throws: what `body` throws (nothing when it does not throw).
public func onOwnThread<Value: Sendable, Failure: Error>(
    named name: String, _ body: @escaping @Sendable () throws(Failure) -> Value
) async throws(Failure) -> Value {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, Failure>, Never>) in
        let thread = Thread { continuation.resume(returning: Result(catching: body)) }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }
    return try result.get()
}
