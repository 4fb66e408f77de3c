import CJameySystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A fixed set of worker threads sharing one FIFO run queue of ``BusJob``s.
///
/// A subscription is put on the run queue only when its mailbox goes from idle to scheduled, so
/// a busy subscription costs one queue operation per batch, not per message. An idle worker
/// first spins briefly (yielding the processor) and only then sleeps on a condition variable;
/// publishers signal a sleeper only when no worker is spinning. At most one worker spins, and
/// only while some processor is not already busy with a delivering worker. A worker keeps
/// draining the same mailbox, batch after batch, while no other job is waiting.
final class WorkerPool: Sendable {
    private struct State {
        var queue = RingBuffer<BusJob>()
        /// Workers blocked in the work condition.
        var sleepers = 0
        /// A worker is spinning and will see new work without a signal.
        var spinning = false
        /// Workers currently running a job.
        var active = 0
        /// Workers that have not exited.
        var live = 0
        /// Threads waiting on the idle condition (drain, unsubscribe, stop).
        var idleWaiters = 0
        /// Workers exit once the queue holds no more `.run` jobs; `.drain` jobs are skipped.
        var stopping = false
    }

    private static let workCondition = 0
    private static let idleCondition = 1
    /// How long an idle worker spins before it sleeps.
    private static let spinNanoseconds: UInt64 = 50_000

    private let lock: ConditionLock<State>
    /// Mirror of the queue length, read without the lock by a spinning worker.
    private let queued = Atomic<Int>(0)
    private let identity: BusIdentity
    private let requests: RequestTimer
    private let batchSize: Int
    /// Spin only while fewer than this many workers are running jobs.
    private let spinWhileActiveBelow: Int

    /// Starts `workerCount` worker threads.
    /// - Parameters:
    ///   - workerCount: Number of threads (at least 1).
    ///   - batchSize: Most messages per subscription per turn.
    ///   - identity: The bus the threads belong to.
    ///   - requests: Where requests dropped during delivery are failed.
    ///   - processors: Active processors on this machine.
    init(workerCount: Int, batchSize: Int, identity: BusIdentity, requests: RequestTimer, processors: Int) {
        let count = max(1, workerCount)
        self.spinWhileActiveBelow = max(1, processors)
        self.lock = ConditionLock(State(live: count), conditions: 2)
        self.batchSize = max(1, batchSize)
        self.identity = identity
        self.requests = requests
        for index in 0..<count {
            KernelThread.spawn(name: "jamey-bus-w\(index)") { [self] in
                KernelThread.markCurrent(owner: identity.pointer)
                run()
            }
        }
    }

    /// Puts `subscription` on the run queue (its mailbox just became scheduled).
    @inline(__always)
    func schedule(_ subscription: Subscription) {
        _ = enqueue(.drain(subscription))
    }

    /// Runs `work` on a worker thread; runs it on the calling thread if every worker has exited.
    func submit(_ work: @escaping @Sendable () -> Void) {
        if !enqueue(.run(work)) { work() }
    }

    /// Whether the calling thread is one of this bus's threads.
    var isBusThread: Bool { identity.isCurrentThread }

    private func enqueue(_ job: BusJob) -> Bool {
        lock.lock()
        let state = lock.state
        guard state.pointee.live > 0 else {
            lock.unlock()
            return false
        }
        state.pointee.queue.append(job)
        queued.wrappingAdd(1, ordering: .relaxed)
        if !state.pointee.spinning && state.pointee.sleepers > 0 {
            lock.signal(Self.workCondition)
        }
        lock.unlock()
        return true
    }

    /// Blocks until `subscription`'s handler is not running (after it was closed), or until
    /// `deadline` (uptime nanoseconds; nil: as long as it takes).
    /// - Returns: whether its handler had stopped running.
    func waitUntilNotRunning(_ subscription: Subscription, deadline: UInt64? = nil) -> Bool {
        lock.lock()
        lock.state.pointee.idleWaiters += 1
        var stopped = true
        while subscription.isRunning {
            if let deadline {
                if !lock.wait(Self.idleCondition, until: deadline) {
                    stopped = !subscription.isRunning
                    break
                }
            } else {
                lock.wait(Self.idleCondition)
            }
        }
        lock.state.pointee.idleWaiters -= 1
        lock.unlock()
        return stopped
    }

    /// Blocks until the run queue is empty and no worker other than the caller runs a job, or
    /// until `deadline`.
    /// - Returns: Whether the pool went idle before the deadline.
    func waitUntilIdle(deadline: UInt64) -> Bool {
        let own = isBusThread ? 1 : 0
        lock.lock()
        let state = lock.state
        state.pointee.idleWaiters += 1
        var idle = true
        while !(state.pointee.queue.isEmpty && state.pointee.active <= own) {
            if !lock.wait(Self.idleCondition, until: deadline) {
                idle = state.pointee.queue.isEmpty && state.pointee.active <= own
                break
            }
        }
        state.pointee.idleWaiters -= 1
        lock.unlock()
        return idle
    }

    /// Tells the workers to exit (after running queued `.run` jobs; queued deliveries are
    /// dropped) and waits for them until `deadline` when `wait` is set. A worker calling this
    /// does not wait for itself.
    func stop(deadline: UInt64, wait: Bool) {
        let own = isBusThread ? 1 : 0
        lock.lock()
        let state = lock.state
        state.pointee.stopping = true
        lock.broadcast(Self.workCondition)
        if wait {
            state.pointee.idleWaiters += 1
            while state.pointee.live > own {
                if !lock.wait(Self.idleCondition, until: deadline) { break }
            }
            state.pointee.idleWaiters -= 1
        }
        lock.unlock()
    }

    /// A worker thread.
    private func run() {
        var batch = DeliveryBatch(capacity: batchSize)
        var spun = false
        var placement = Placement(processors: spinWhileActiveBelow)
        let state = lock.state
        lock.lock()
        while true {
            if let job = state.pointee.queue.popFirst() {
                queued.wrappingAdd(-1, ordering: .relaxed)
                spun = false
                if !state.pointee.queue.isEmpty && state.pointee.sleepers > 0 && !state.pointee.spinning {
                    lock.signal(Self.workCondition)
                }
                let stopping = state.pointee.stopping
                state.pointee.active += 1
                lock.unlock()
                let again = execute(job, stopping: stopping, batch: &batch)
                lock.lock()
                state.pointee.active -= 1
                if let again {
                    state.pointee.queue.append(.drain(again))
                    queued.wrappingAdd(1, ordering: .relaxed)
                }
                if state.pointee.idleWaiters > 0 { lock.broadcast(Self.idleCondition) }
                continue
            }
            if state.pointee.stopping { break }
            if !spun && !state.pointee.spinning && state.pointee.active < placement.spinWhileActiveBelow {
                state.pointee.spinning = true
                lock.unlock()
                spin()
                lock.lock()
                state.pointee.spinning = false
                spun = true
                continue
            }
            spun = false
            state.pointee.sleepers += 1
            lock.wait(Self.workCondition)
            state.pointee.sleepers -= 1
        }
        state.pointee.live -= 1
        if state.pointee.idleWaiters > 0 { lock.broadcast(Self.idleCondition) }
        lock.unlock()
    }

    /// How many workers may be running jobs for an idle one to spin: the processors this worker
    /// may run on (its affinity mask, which a cpuset, `taskset` or the benchmarks may narrow after
    /// the pool started), at most the active processors. A spinner sharing its only processor
    /// with a busy worker would take turns with it through `sched_yield` instead of leaving it
    /// the processor. The mask is read again at most every ``refreshNanoseconds``.
    private struct Placement {
        static let refreshNanoseconds: UInt64 = 100_000_000
        let processors: Int
        private var allowed: Int
        private var readAt: UInt64

        init(processors: Int) {
            self.processors = processors
            allowed = Self.allowedProcessors() ?? processors
            readAt = MonotonicClock.now()
        }

        var spinWhileActiveBelow: Int {
            mutating get {
                let now = MonotonicClock.now()
                if now &- readAt > Self.refreshNanoseconds {
                    allowed = Self.allowedProcessors() ?? processors
                    readAt = now
                }
                return min(processors, allowed)
            }
        }

        private static func allowedProcessors() -> Int? {
            let count = Int(jamey_processors_allowed())
            return count > 0 ? count : nil
        }
    }

    /// Spins until work is queued or the spin time is used up, yielding the processor each turn.
    private func spin() {
        let start = MonotonicClock.now()
        while queued.load(ordering: .relaxed) == 0 {
            if MonotonicClock.now() &- start > Self.spinNanoseconds { return }
            sched_yield()
        }
    }

    /// Runs one job; returns the subscription to put back on the queue, if any.
    private func execute(_ job: BusJob, stopping: Bool, batch: inout DeliveryBatch) -> Subscription? {
        switch job {
        case .run(let work):
            work()
            return nil
        case .drain(let subscription):
            if stopping { return nil }
            let more = subscription.deliver(into: &batch, limit: batchSize, requests: requests) {
                self.queued.load(ordering: .relaxed) > 0
            }
            return more ? subscription : nil
        }
    }
}
