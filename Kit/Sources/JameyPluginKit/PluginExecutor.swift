import Foundation
import Synchronization

/// A task executor backed by one dedicated thread, per plugin image.
///
/// The kernel calls lifecycle hooks on a thread that blocks until the hook's async work is done.
/// Running that work on the Swift concurrency pool would make a plugin's start depend on the host
/// having a free pool thread (it has only one per core, and a host or test harness may be blocking
/// them); so the kit runs hook tasks with this executor as their preference. Non-isolated async
/// code and default actors then run here, and continuations resumed from bus threads come back
/// here too.
final class PluginExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = PluginExecutor()

    private let jobs = Mutex<[UnownedJob]>([])
    private let wake = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "jamey-plugin-executor"
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        jobs.withLock { $0.append(unowned) }
        wake.signal()
    }

    private func run() {
        while true {
            wake.wait()
            let batch = jobs.withLock { queue in
                defer { queue.removeAll(keepingCapacity: true) }
                return queue
            }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
