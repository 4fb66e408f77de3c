import Foundation
import Synchronization

/// Threads that send one request after another until stopped — the continuous load a test keeps
/// up while it swaps, splits or restarts what answers — counting answers and keeping failures.
///
/// `request(worker, i)` sends the i-th request (from 1) of thread `worker`: it returns nil for a
/// right answer, a sentence for a wrong one, and throws when the request failed.
public final class ContinuousLoad: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let answeredCount = Atomic<Int>(0)
    private let failed = LockedBox<[String]>([])
    private let done = DispatchGroup()

    /// Starts `threads` threads sending requests.
    public init(threads: Int, _ request: @escaping @Sendable (_ worker: Int, _ i: Int) throws -> String?) {
        for worker in 0..<threads {
            done.enter()
            Thread { [self] in
                defer { done.leave() }
                var i = 0
                while !stopping.load(ordering: .acquiring) {
                    i += 1
                    do {
                        if let wrong = try request(worker, i) {
                            failed.append(wrong)
                        } else {
                            answeredCount.add(1, ordering: .relaxed)
                        }
                    } catch {
                        failed.append("\(worker)-\(i): \(error)")
                    }
                }
            }.start()
        }
    }

    /// Right answers so far.
    public var answered: Int { answeredCount.load(ordering: .relaxed) }

    /// Wrong answers and failed requests so far.
    public var failures: [String] { failed.value }

    /// Blocks until `count` more requests have been answered (at most `timeout`).
    public func waitForProgress(_ count: Int, timeout: Duration = .seconds(30)) {
        let before = answered
        _ = TestKernel.eventually(timeout: timeout) { self.answered > before + count }
    }

    /// Stops the threads and waits until each has finished its request.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        done.wait()
    }
}
