import Dispatch
import Foundation

/// Something a test holds on a thread of its own until it lets go — typically a write
/// transaction on a database, so the code under test finds the writer busy.
///
/// `body` runs on the new thread and calls the closure it is given where the thing is held; that
/// call returns once the test calls ``release()``, or after `timeout` seconds (so a test whose
/// code under test never lets it release does not hang). Should `body` return without holding
/// (its `BEGIN` failed, say), ``waitUntilHeld()`` returns anyway and ``isHeld`` stays false.
///
/// ```swift
/// let hold = HeldOnThread(timeout: 4) { whileHeld in
///     try? queue.inDatabase { db in
///         try db.execute(sql: "BEGIN IMMEDIATE")
///         whileHeld()
///         try db.execute(sql: "ROLLBACK")
///     }
/// }
/// hold.waitUntilHeld()
/// // ... the code under test meets a busy writer; hold.isHeld tells whether it still is
/// hold.release()
/// ```
public final class HeldOnThread: Sendable {
    private let held = DispatchSemaphore(value: 0)
    private let letGo = DispatchSemaphore(value: 0)
    private let state = LockedBox(false)

    /// Starts the thread.
    /// - Parameters:
    ///   - timeout: seconds after which the hold ends by itself.
    ///   - body: runs on the thread; calls its argument where the thing is held.
    public init(timeout: Double, _ body: @escaping @Sendable (_ whileHeld: () -> Void) -> Void) {
        let held = held
        let letGo = letGo
        let state = state
        let thread = Thread {
            let reached = LockedBox(false)
            body {
                reached.set(true)
                state.set(true)
                held.signal()
                _ = letGo.wait(timeout: .now() + timeout)
                state.set(false)
            }
            if !reached.value { held.signal() }
        }
        thread.name = "test-hold"
        thread.start()
    }

    /// Blocks until the thread holds (call it off the cooperative pool, e.g. through `onThread`).
    public func waitUntilHeld() { held.wait() }

    /// Whether the thread holds now.
    public var isHeld: Bool { state.value }

    /// Lets go.
    public func release() { letGo.signal() }
}
