import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one subscription's deliveries one at a time, on the thread that brings each: a delivery
/// that comes while another of the same subscription is running waits in a queue, and the thread
/// running that one runs it next. So a handler never runs concurrently with itself, its deliveries
/// keep their order, and a thread that finds the subscription busy moves on at once.
final class HandlerSerializer: Sendable {
    private struct State {
        var running = false
        var pending: [[UInt8]] = []
        var first = 0
    }

    private let state = Mutex(State())

    /// Whether no thread is running this subscription's deliveries (none queued either).
    var isIdle: Bool { state.withLock { !$0.running } }

    /// Runs `body` with `delivery` now, then whatever queued up meanwhile; or queues `delivery` when
    /// a thread is already running this subscription's handler.
    func run(_ delivery: [UInt8], _ body: ([UInt8]) -> Void) {
        let mine = state.withLock { s -> Bool in
            if s.running {
                s.pending.append(delivery)
                return false
            }
            s.running = true
            return true
        }
        guard mine else { return }
        var next: [UInt8]? = delivery
        while let current = next {
            body(current)
            next = state.withLock { s -> [UInt8]? in
                guard s.first < s.pending.count else {
                    s.pending.removeAll(keepingCapacity: true)
                    s.first = 0
                    s.running = false
                    return nil
                }
                let delivery = s.pending[s.first]
                s.first += 1
                // A queue that never runs empty still gives back what it has run.
                if s.first >= 1024 && s.first * 2 >= s.pending.count {
                    s.pending.removeFirst(s.first)
                    s.first = 0
                }
                return delivery
            }
        }
    }
}

/// The runner's dispatch thread: reads the ring of deliveries and runs each handler right there
/// (no hand-off to another thread on the way to the plugin). When one handler keeps it longer
/// than ``budget`` (a handler that blocks), a monitor starts a new dispatch thread so the other
/// subscriptions go on being served; the blocked one finishes its subscription's queue, then ends.
final class Dispatcher: Sendable {
    /// How long one handler may hold the dispatch thread before another takes over.
    static let budget: UInt64 = 20_000_000
    /// Which dispatch thread is the current one; a thread whose number is not current ends.
    private let epoch = Atomic<UInt64>(0)
    /// When the current dispatch thread entered a handler (monotonic ns), 0 while it is not in one.
    private let busySince = Atomic<UInt64>(0)

    /// Starts the dispatch thread and its monitor; `step` reads and runs one delivery (false: the
    /// ring closed), calling ``enter(_:)`` and ``leave(_:)`` around the handler with the number
    /// it is given.
    func start(_ step: @escaping @Sendable (UInt64) -> Bool) {
        spawnDispatcher(step)
        RunnerThread.spawn { [self] in monitor(step) }
    }

    private func spawnDispatcher(_ step: @escaping @Sendable (UInt64) -> Bool) {
        let mine = epoch.add(1, ordering: .acquiringAndReleasing).newValue
        busySince.store(0, ordering: .releasing)
        RunnerThread.spawn { [self] in
            while epoch.load(ordering: .acquiring) == mine {
                guard step(mine) else { return }
            }
        }
    }

    /// Called by dispatch thread `mine` around a handler it runs (a thread no longer current
    /// changes nothing).
    func enter(_ mine: UInt64) {
        if epoch.load(ordering: .acquiring) == mine { busySince.store(Self.now(), ordering: .releasing) }
    }

    func leave(_ mine: UInt64) {
        if epoch.load(ordering: .acquiring) == mine { busySince.store(0, ordering: .releasing) }
    }

    private func monitor(_ step: @escaping @Sendable (UInt64) -> Bool) {
        while true {
            usleep(UInt32(Self.budget / 2000))
            let since = busySince.load(ordering: .acquiring)
            if since != 0 && Self.now() &- since > Self.budget { spawnDispatcher(step) }
        }
    }

    static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
}

/// A detached thread of the runner's.
enum RunnerThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func spawn(_ body: @escaping @Sendable () -> Void) {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, box)
        if rc == 0 { pthread_detach(thread) } else { Unmanaged<Box>.fromOpaque(box).release() }
    }
}
