import Synchronization

/// The table of pending requests and the one timer thread that fails them at their deadline.
///
/// Deadlines live in a min-heap; the thread sleeps in a timed condition wait until the earliest
/// one and is only woken when a request arrives with an earlier deadline than the one it sleeps
/// for (so a steady stream of requests with the same timeout costs no wake-ups). The timer
/// thread also runs every *failure* completion (`timeout`, `noResponders`, `queueFull`,
/// `shutdown`), so those never run on the caller's thread and never depend on a free worker.
final class RequestTimer: Sendable {
    private struct Failure {
        let completion: @Sendable (Result<BusMessage, BusError>) -> Void
        let error: BusError
    }

    private struct State {
        var pending: [UInt64: PendingRequest] = [:]
        var heap = DeadlineHeap()
        var failures: [Failure] = []
        /// The deadline the thread sleeps until; 0 while it is awake.
        var sleepingUntil: UInt64 = 0
        /// No new requests (shutdown began).
        var closed = false
        /// The thread should exit once its failures are delivered.
        var stopping = false
        /// The thread has not exited yet.
        var running = true
    }

    private static let wakeCondition = 0
    private static let exitCondition = 1

    private let lock = ConditionLock(State(), conditions: 2)
    private let nextID = Atomic<UInt64>(1)
    private let identity: BusIdentity

    /// Starts the timer thread.
    /// - Parameter identity: The bus whose threads this one belongs to.
    init(identity: BusIdentity) {
        self.identity = identity
        KernelThread.spawn(name: "jamey-bus-timer") { [self] in
            KernelThread.markCurrent(owner: identity.pointer)
            run()
        }
    }

    /// Registers a request and its deadline.
    /// - Returns: The pending request (its `id` and `replyTo` go into the delivered message).
    /// - Throws: ``BusError/shutdown`` once shutdown began.
    func register(
        timeout: Duration, metrics: BusMetrics, completesOnAnyThread: Bool = false,
        completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void
    ) throws(BusError) -> PendingRequest {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let request = PendingRequest(
            id: id, replyTo: Self.replyAddress(id), deadline: MonotonicClock.deadline(after: timeout),
            metrics: metrics, completesOnAnyThread: completesOnAnyThread, completion: completion)
        let accepted = lock.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.pending[id] = request
            state.heap.insert(request)
            if state.sleepingUntil != 0 && request.deadline < state.sleepingUntil {
                state.sleepingUntil = 0
                lock.signal(Self.wakeCondition)
            }
            return true
        }
        guard accepted else { throw .shutdown }
        return request
    }

    /// Removes and returns the pending request `id` if its reply address is `replyTo`.
    func take(id: UInt64, replyTo: String) -> PendingRequest? {
        lock.withLock { state in
            guard let request = state.pending[id], request.replyTo == replyTo else { return nil }
            state.pending.removeValue(forKey: id)
            state.heap.remove(request)
            return request
        }
    }

    /// Fails the pending request `id` (if still pending) with `error`, on the timer thread.
    func fail(id: UInt64, with error: BusError) {
        let request = lock.withLock { state -> PendingRequest? in
            guard let request = state.pending.removeValue(forKey: id) else { return nil }
            state.heap.remove(request)
            return request
        }
        if let request { fail(request.completion, with: error) }
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
            state.closed = true
            state.pending.removeAll()
            for request in state.heap.removeAll() {
                state.failures.append(Failure(completion: request.completion, error: .shutdown))
            }
            state.sleepingUntil = 0
            lock.signal(Self.wakeCondition)
        }
    }

    /// Asks the timer thread to exit once its queued failures are delivered, and waits for that
    /// until `deadline` (unless called on the timer thread itself).
    func stop(deadline: UInt64, wait: Bool) {
        lock.lock()
        lock.state.pointee.stopping = true
        lock.state.pointee.sleepingUntil = 0
        lock.signal(Self.wakeCondition)
        if wait && !identity.isCurrentThread {
            while lock.state.pointee.running {
                if !lock.wait(Self.exitCondition, until: deadline) { break }
            }
        }
        lock.unlock()
    }

    /// Number of requests waiting for a reply (for tests and introspection).
    var pendingCount: Int { lock.withLock { $0.pending.count } }

    private func enqueueFailure(_ failure: Failure, in state: inout State) {
        state.failures.append(failure)
        if state.sleepingUntil != 0 {
            state.sleepingUntil = 0
            lock.signal(Self.wakeCondition)
        }
    }

    /// The timer thread.
    private func run() {
        let state = lock.state
        lock.lock()
        while true {
            state.pointee.sleepingUntil = 0
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
                expired.append(first)
            }
            if !expired.isEmpty {
                lock.unlock()
                for request in expired {
                    request.metrics.requestTimeouts.increment()
                    request.completion(.failure(.timeout))
                }
                lock.lock()
                continue
            }
            if state.pointee.stopping { break }
            let until = state.pointee.heap.first?.deadline ?? .max
            state.pointee.sleepingUntil = until
            _ = lock.wait(Self.wakeCondition, until: until)
        }
        state.pointee.running = false
        lock.broadcast(Self.exitCondition)
        lock.unlock()
    }

    /// The reply address of request `id`.
    private static func replyAddress(_ id: UInt64) -> String {
        "_reply." + String(id)
    }
}
