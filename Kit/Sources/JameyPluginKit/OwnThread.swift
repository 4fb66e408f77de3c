import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Runs blocking work off the concurrency pool, on a thread that does nothing else meanwhile
/// (``BlockingThreads``), and suspends the calling task until it returns.
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
///   - name: the thread's name while it runs `body` (in `top -H`, `perf` and a debugger).
///   - body: the blocking work.
/// - Returns: what `body` returns.
/// - Throws: what `body` throws (nothing when it does not throw).
public func onOwnThread<Value: Sendable, Failure: Error>(
    named name: String, _ body: @escaping @Sendable () throws(Failure) -> Value
) async throws(Failure) -> Value {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, Failure>, Never>) in
        BlockingThreads.shared.run(name) { continuation.resume(returning: Result(catching: body)) }
    }
    return try result.get()
}

/// The threads ``onOwnThread(named:_:)`` runs its work on: a job goes to a thread waiting for
/// one, or to a new thread when none waits, so blocking work never waits for other blocking work
/// (as many threads as jobs at once, as with a thread per call); a thread that finished a job
/// waits ``keep`` for the next before it ends. Before, every call created and ended a thread (the
/// conscience's rule routes, the cache's origin loads and the soul's listings called it per
/// request, the cache's maintenance every second): in a loop of empty calls, 37-69 µs a call
/// against 18-36 µs with a kept thread. Dispatch's overcommit pool would do as well, but its
/// ceiling of threads is shared with the kernel's own hook queues, which a plugin's blocked jobs
/// (a hung Redis under a burst of misses) must not reach.
final class BlockingThreads: @unchecked Sendable {
    static let shared = BlockingThreads()

    /// How long a thread with nothing to do waits for a job before it ends.
    static let keep: Double = 10

    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Under `lock`:
    private var jobs: [(name: String, body: () -> Void)] = []
    private var waiting = 0

    private init() {
        pthread_mutex_init(lock, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(wake, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    /// Runs `body` on a thread named `name` for the call.
    func run(_ name: String, _ body: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(lock)
        jobs.append((name, body))
        // Each queued job needs a waiting thread of its own; one signalled may not have woken yet.
        let start = waiting < jobs.count
        if !start { pthread_cond_signal(wake) }
        pthread_mutex_unlock(lock)
        guard start else { return }
        let thread = Thread { [self] in work() }
        thread.name = "jamey-blocking"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func work() {
        pthread_mutex_lock(lock)
        while true {
            if !jobs.isEmpty {
                let job = jobs.removeFirst()
                pthread_mutex_unlock(lock)
                ThreadName.while(job.name, job.body)
                pthread_mutex_lock(lock)
                continue
            }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            var until = now
            until.tv_sec += Int(Self.keep)
            waiting += 1
            let outcome = pthread_cond_timedwait(wake, lock, &until)
            waiting -= 1
            if outcome == ETIMEDOUT && jobs.isEmpty { break }
        }
        pthread_mutex_unlock(lock)
    }
}

/// The calling thread's name (`top -H`, `perf`, a debugger), changed for the length of a call.
enum ThreadName {
    /// Runs `body` with the thread named `name` (Linux keeps 15 bytes of it), then names it back.
    static func `while`<R>(_ name: String, _ body: () -> R) -> R {
        let thread = Thread.current
        let previous = thread.name
        thread.name = name
        defer { thread.name = previous }
        return body()
    }
}
