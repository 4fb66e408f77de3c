import JameyTestKit
import MQTTCore
import Testing

/// The bridge's lifecycle state machine: each transition, and that every stop waiter is resumed
/// exactly once, with whether the loop thread ended in time.
@Suite struct BridgeLifecycleTests {
    /// A lifecycle under a lock, as the bridge keeps it, with the actions its stops chose.
    final class Harness: Sendable {
        let lifecycle: LockedBox<BridgeLifecycle>
        let actions = LockedBox<[BridgeLifecycle.StopAction]>([])

        init(_ state: BridgeLifecycle) { lifecycle = LockedBox(state) }

        /// What `Bridge.stop()` does, without the deadline task: suspends until resumed.
        func stop() async -> Bool {
            await withCheckedContinuation { waiter in
                let action = lifecycle.withLock { $0.stop(waiter: waiter) }
                actions.append(action)
                if action == .resumeNow { waiter.resume(returning: true) }
            }
        }

        /// Waits until `count` stops have registered.
        func stops(_ count: Int) async -> Bool { await eventually { actions.count == count } }

        /// The loop thread ends.
        func loopFinished() { for w in lifecycle.withLock({ $0.loopFinished() }) { w.resume(returning: true) } }

        /// The stop deadline passes.
        func deadlinePassed() { for w in lifecycle.withLock({ $0.stopDeadlinePassed() }) { w.resume(returning: false) } }

        var isFinished: Bool {
            lifecycle.withLock {
                if case .finished = $0 { true } else { false }
            }
        }
    }

    @Test func start_movesInitialToRunning_once() {
        var lifecycle = BridgeLifecycle.initial
        #expect(!lifecycle.isStopping)
        let first = lifecycle.start()
        #expect(first)
        #expect(!lifecycle.isStopping)
        let second = lifecycle.start()
        #expect(!second, "a running bridge is not started twice")
    }

    @Test func stop_beforeStart_finishesAtOnce_andStaysStopped() async {
        let h = Harness(.initial)
        #expect(await h.stop())
        #expect(h.actions.value == [.resumeNow])
        #expect(h.isFinished)
        let started = h.lifecycle.withLock { $0.start() }
        #expect(!started, "a stopped bridge does not start its loop thread")
    }

    @Test func stop_whileRunning_wakesTheLoop_andWaitsForItsEnd() async {
        let h = Harness(.running)
        async let stopped = h.stop()
        #expect(await h.stops(1))
        #expect(h.actions.value == [.wakeLoopAndWait])
        #expect(h.lifecycle.value.isStopping)
        #expect(!h.isFinished)
        h.loopFinished()
        #expect(await stopped, "the waiter learns that the loop ended in time")
        #expect(h.isFinished)
    }

    @Test func stop_deadline_releasesTheWaiter_butTheLoopStillStops() async {
        let h = Harness(.running)
        async let stopped = h.stop()
        #expect(await h.stops(1))
        h.deadlinePassed()
        #expect(await stopped == false, "the waiter learns that the loop did not end in time")
        #expect(h.lifecycle.value.isStopping)
        #expect(!h.isFinished)
        h.loopFinished()  // resumes nobody a second time (a double resume would trap)
        #expect(h.isFinished)
    }

    @Test func stop_twice_bothWaitForTheSameEnd() async {
        let h = Harness(.running)
        async let first = h.stop()
        async let second = h.stop()
        #expect(await h.stops(2))
        #expect(h.actions.value.sorted { "\($0)" < "\($1)" } == [.wait, .wakeLoopAndWait])
        h.loopFinished()
        #expect(await first)
        #expect(await second)
    }

    @Test func stop_afterFinished_returnsAtOnce() async {
        let h = Harness(.running)
        h.loopFinished()
        #expect(await h.stop())
        #expect(h.actions.value == [.resumeNow])
    }
}
