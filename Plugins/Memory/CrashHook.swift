import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A test-only fault: with `JAMEY_MEMORY_TEST_CRASH_AFTER_COMMIT=N` in the environment, the
/// process kills itself with SIGKILL right after the N-th write transaction with item events has
/// committed, before those events are published (OutboxTests). Without the variable it does
/// nothing; it is read once per process.
enum CrashHook {
    /// The write to crash after (0: never).
    static let after: Int = Int(ProcessInfo.processInfo.environment["JAMEY_MEMORY_TEST_CRASH_AFTER_COMMIT"] ?? "") ?? 0
    private static let commits = Atomic<Int>(0)

    /// Counts a committed write with item events; kills the process when it is the chosen one.
    static func committed() {
        guard after > 0, commits.add(1, ordering: .relaxed).newValue == after else { return }
        kill(getpid(), SIGKILL)
    }
}
