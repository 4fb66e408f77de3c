import CJameySystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The table of pending requests and the one timer thread that fails them at their deadline.
///
/// A request goes into the slot of a lock-free table that its correlation id names
/// (`jamey_pending.h`), and its reply takes it out: neither takes a lock. A request whose slot
/// still holds an older pending one goes to the overflow, a dictionary and a deadline min-heap
/// under the lock. The thread sleeps in a timed condition wait until the earliest deadline it
/// knows of, or for a second at most, and scans the table and the heap when it wakes. It is
/// woken early only when a request arrives with an earlier deadline than the one it sleeps for,
/// so a steady stream of requests with the usual timeout costs the thread one wake-up a second,
/// and a request no lock at all (the old design slept until the earliest pending deadline, and
/// forever with none: a request after an idle moment then woke it, on the requester's time).
/// The timer thread also runs every *failure* completion (`timeout`, `noResponders`,
/// `queueFull`, `shutdown`), so those never run on the caller's thread and never depend on a
/// free worker.
final class RequestTimer: Sendable {
    private struct Failure {
        let completion: @Sendable (Result<BusMessage, BusError>) -> Void
        let error: BusError
    }

    private struct State {
        /// The overflow: requests whose slot was taken when they were registered.
        var pending: [UInt64: PendingRequest] = [:]
        var heap = DeadlineHeap()
        var failures: [Failure] = []
        /// A request went into the table while the thread was awake: scan again before sleeping.
        var scanAgain = false
        /// The thread should exit once its failures are delivered.
        var stopping = false
        /// The thread has not exited yet.
        var running = true
    }

    private static let wakeCondition = 0
    private static let exitCondition = 1

    /// Slots of the lock-free table: a request goes to the overflow only when the one 4096 ids
    /// before it is still pending.
    static let tableCapacity: UInt64 = 4096
    /// The longest the thread sleeps, in nanoseconds.
    static let longestSleep: UInt64 = 1_000_000_000

    private let lock = ConditionLock(State(), conditions: 2)
    private let nextID = Atomic<UInt64>(1)
    private let identity: BusIdentity
    /// The lock-free table (its own atomics order every access).
    nonisolated(unsafe) private let table: UnsafeMutablePointer<jamey_pending>
    /// The deadline the thread sleeps until; 0 while it is awake. Written under the lock.
    private let sleepingUntil = Atomic<UInt64>(0)
    /// Requests in the overflow (read without the lock by `take`).
    private let overflowCount = Atomic<Int>(0)
    /// No new requests (shutdown began).
    private let closed = Atomic<Bool>(false)
    /// In a box, as ``ReloadSource`` is: a closure kept in a `Mutex` grows a thunk per read.
    private let submitter = Mutex<Submitter?>(nil)

    final class Submitter: Sendable {
        let submit: @Sendable (@escaping @Sendable () -> Void) -> Void
        init(_ submit: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) { self.submit = submit }
    }

    /// Starts the timer thread.
    /// - Parameter identity: The bus whose threads this one belongs to.
    init(identity: BusIdentity) {
        self.identity = identity
        guard let table = jamey_pending_create(Self.tableCapacity) else { fatalError("out of memory") }
        self.table = table
        KernelThread.spawn(name: "jamey-bus-timer") { [self] in
            KernelThread.markCurrent(owner: identity.pointer)
            run()
        }
    }

    deinit {
        var cursor: UInt64 = 0
        while let raw = jamey_pending_next_any(table, &cursor) { Unmanaged<PendingRequest>.fromOpaque(raw).release() }
        jamey_pending_destroy(table)
    }

    /// Registers a request and its deadline.
    /// - Returns: The pending request (its `id` and `replyTo` go into the delivered message).
    /// - Throws: ``BusError/shutdown`` once shutdown began.
    func register(
        timeoutNanoseconds: UInt64, metrics: BusMetrics, completesOnAnyThread: Bool = false,
        abiTarget: ABIReplyTarget? = nil, completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void
    ) throws(BusError) -> PendingRequest {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (deadline, overflow) = MonotonicClock.now().addingReportingOverflow(timeoutNanoseconds)
        let request = PendingRequest(
            id: id, deadline: overflow ? .max : deadline, metrics: metrics, completesOnAnyThread: completesOnAnyThread,
            abiTarget: abiTarget, completion: completion)
        guard !closed.load(ordering: .relaxed) else { throw .shutdown }
        if jamey_pending_put(table, id, Unmanaged.passRetained(request).toOpaque(), request.deadline) != 0 {
            // Either close() sees the slot or this sees `closed` (both sequentially consistent).
            if closed.load(ordering: .sequentiallyConsistent) {
                if takeFromTable(id) != nil { throw .shutdown }
                return request  // close() took it and fails it
            }
            // Either the thread's scan sees the slot or this sees it awake (see jamey_pending.h).
            let sleeping = sleepingUntil.load(ordering: .sequentiallyConsistent)
            if sleeping == 0 || request.deadline < sleeping { wakeForEarlier(request.deadline) }
            return request
        }
        let accepted = lock.withLock { state -> Bool in
            guard !closed.load(ordering: .relaxed) else { return false }
            state.pending[id] = request
            state.heap.insert(request)
            overflowCount.wrappingAdd(1, ordering: .relaxed)
            wake(for: request.deadline, in: &state)
            return true
        }
        guard accepted else { throw .shutdown }
        return request
    }

    /// Makes the thread look at a request with `deadline` in the table: scan again if it is
    /// awake, wake it if it sleeps past the deadline.
    private func wakeForEarlier(_ deadline: UInt64) {
        lock.withLock { wake(for: deadline, in: &$0) }
    }

    private func wake(for deadline: UInt64, in state: inout State) {
        let sleeping = sleepingUntil.load(ordering: .relaxed)
        if sleeping == 0 {
            state.scanAgain = true
        } else if deadline < sleeping {
            sleepingUntil.store(0, ordering: .relaxed)
            lock.signal(Self.wakeCondition)
        }
    }

    @inline(__always)
    private func takeFromTable(_ id: UInt64) -> PendingRequest? {
        jamey_pending_take(table, id).map { Unmanaged<PendingRequest>.fromOpaque($0).takeRetainedValue() }
    }

    /// Removes and returns the pending request `id` if its reply address is `replyTo`.
    func take(id: UInt64, replyTo: String) -> PendingRequest? {
        guard replyTo == Self.replyAddress else { return nil }
        return take(id: id)
    }

    /// Removes and returns the pending request `id`.
    func take(id: UInt64) -> PendingRequest? {
        if let request = takeFromTable(id) { return request }
        guard overflowCount.load(ordering: .relaxed) > 0 else { return nil }
        return lock.withLock { state in
            guard let request = state.pending.removeValue(forKey: id) else { return nil }
            state.heap.remove(request)
            overflowCount.wrappingAdd(-1, ordering: .relaxed)
            return request
        }
    }

    /// Fails the pending request `id` (if still pending) with `error`, on the timer thread.
    func fail(id: UInt64, with error: BusError) {
        if let request = take(id: id) { fail(request.completion, with: error) }
    }

    /// Fails the pending request `id` (if still pending) with `error` the way a reply completes
    /// a request: on the calling thread when it is one of the bus's outside a request call (or
    /// the completion may run anywhere), else on a bus worker — never queued for the timer
    /// thread, which may itself be waiting for it: a `request_sync` made from a `done` running
    /// there (plugin.h allows it) would then wait for good once its deadline found the request
    /// gone.
    func failAsAReplyWould(id: UInt64, with error: BusError) {
        guard let request = take(id: id) else { return }
        if request.completesHere(onBusThread: identity.isCurrentThread) {
            request.completion(.failure(error))
        } else if let submitter = submitter.withLock({ $0 }) {
            submitter.submit { request.completion(.failure(error)) }
        } else {
            fail(request.completion, with: error)
        }
    }

    /// Where ``failAsAReplyWould(id:with:)`` runs a completion off the calling thread (the bus's
    /// worker pool, set once it exists).
    func setSubmitter(_ submit: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        submitter.withLock { $0 = Submitter(submit) }
    }

    /// Calls `completion` with `error` on the timer thread (for requests never registered).
    func fail(_ completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void, with error: BusError) {
        let delivered = lock.withLock { state -> Bool in
            guard state.running else { return false }
            enqueueFailure(Failure(completion: completion, error: error), in: &state)
            return true
        }
        if !delivered { completion(.failure(error)) }
    }

    /// Refuses new requests and fails every pending one with ``BusError/shutdown``.
    func close() {
        lock.withLock { state in
            closed.store(true, ordering: .sequentiallyConsistent)
            var cursor: UInt64 = 0
            while let raw = jamey_pending_next_any(table, &cursor) {
                let request = Unmanaged<PendingRequest>.fromOpaque(raw).takeRetainedValue()
                state.failures.append(Failure(completion: request.completion, error: .shutdown))
            }
            state.pending.removeAll()
            overflowCount.store(0, ordering: .relaxed)
            for request in state.heap.removeAll() {
                state.failures.append(Failure(completion: request.completion, error: .shutdown))
            }
            sleepingUntil.store(0, ordering: .relaxed)
            lock.signal(Self.wakeCondition)
        }
    }

    /// Asks the timer thread to exit once its queued failures are delivered, and waits for that
    /// until `deadline` (unless called on the timer thread itself).
    func stop(deadline: UInt64, wait: Bool) {
        lock.lock()
        lock.state.pointee.stopping = true
        sleepingUntil.store(0, ordering: .relaxed)
        lock.signal(Self.wakeCondition)
        if wait && !identity.isCurrentThread {
            while lock.state.pointee.running {
                if !lock.wait(Self.exitCondition, until: deadline) { break }
            }
        }
        lock.unlock()
    }

    /// Number of requests waiting for a reply (for tests and introspection).
    /// Requests kept in the overflow (their slot held an older pending request).
    var overflowPendingCount: Int { overflowCount.load(ordering: .relaxed) }

    var pendingCount: Int { lock.withLock { $0.pending.count } + Int(jamey_pending_count(table)) }

    private func enqueueFailure(_ failure: Failure, in state: inout State) {
        state.failures.append(failure)
        if sleepingUntil.load(ordering: .relaxed) != 0 {
            sleepingUntil.store(0, ordering: .relaxed)
            lock.signal(Self.wakeCondition)
        }
    }

    /// The timer thread.
    private func run() {
        let state = lock.state
        lock.lock()
        while true {
            // Awake: a registration that reads this takes the lock and asks for another scan.
            sleepingUntil.store(0, ordering: .sequentiallyConsistent)
            state.pointee.scanAgain = false
            if !state.pointee.failures.isEmpty {
                let failures = state.pointee.failures
                state.pointee.failures = []
                lock.unlock()
                for failure in failures { failure.completion(.failure(failure.error)) }
                lock.lock()
                continue
            }
            let now = MonotonicClock.now()
            var expired: [PendingRequest] = []
            while let first = state.pointee.heap.first, first.deadline <= now {
                state.pointee.heap.remove(first)
                state.pointee.pending.removeValue(forKey: first.id)
                overflowCount.wrappingAdd(-1, ordering: .relaxed)
                expired.append(first)
            }
            // The table, without the lock (replies and registrations go on meanwhile).
            lock.unlock()
            var cursor: UInt64 = 0
            var earliest = UInt64.max
            while let raw = jamey_pending_next_expired(table, now, &cursor, &earliest) {
                expired.append(Unmanaged<PendingRequest>.fromOpaque(raw).takeRetainedValue())
            }
            lock.lock()
            if !expired.isEmpty {
                lock.unlock()
                for request in expired {
                    request.metrics.requestTimeouts.increment()
                    request.completion(.failure(.timeout))
                }
                lock.lock()
                continue
            }
            if state.pointee.scanAgain || !state.pointee.failures.isEmpty { continue }
            if state.pointee.stopping { break }
            // At most a second: a registration whose deadline is later than the thread's wake-up
            // takes no lock, and one with the usual timeout is later than the next second.
            let until = min(earliest, state.pointee.heap.first?.deadline ?? .max, now &+ Self.longestSleep)
            sleepingUntil.store(until, ordering: .sequentiallyConsistent)
            _ = lock.wait(Self.wakeCondition, until: until)
        }
        state.pointee.running = false
        lock.broadcast(Self.exitCondition)
        lock.unlock()
    }

    /// The reply address of every request: the correlation id alone names the request (an
    /// address per request, `_reply.<id>`, held nothing more and cost a string conversion per
    /// request).
    static let replyAddress = "_reply"
    /// ``replyAddress`` as a C string.
    nonisolated(unsafe) static let replyAddressCString = OwnerNames.cString(replyAddress)

    /// Whether `address` is ``replyAddress``.
    static func isReplyAddress(_ address: UnsafePointer<CChar>) -> Bool { strcmp(address, replyAddressCString) == 0 }
}
