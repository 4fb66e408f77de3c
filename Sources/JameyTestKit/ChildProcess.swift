import Foundation

/// A child process a test starts and must be sure to end (a broker, a `jamey serve`), reaped by
/// the test itself with bounded `waitpid(WNOHANG)` polls.
///
/// Foundation's `Process.waitUntilExit()` spins the calling thread's run loop until Foundation
/// has seen the child end; when it misses that, it spins forever at full CPU, and on a thread of
/// Swift's cooperative pool that hangs the whole test run. A `ChildProcess` is spawned with
/// `posix_spawn`, so Foundation never tracks it, and every wait here is bounded.
///
/// The child gets SIGTERM, SIGINT and SIGHUP at their defaults (the test process may ignore
/// them), its own process group, no descriptors of the test process beyond 0–2, stdin and stdout
/// on `/dev/null`, and stderr on `/dev/null` or appended to a file.
///
/// Thread-safe. The blocking calls (``waitForExit(timeout:)``, ``stop(_:timeout:)``) belong on a
/// thread of their own (``onThread(_:)``); dropping the last reference kills the child with
/// SIGKILL and reaps it on a thread of its own, so `deinit` never blocks.
public final class ChildProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t
    /// The wait status once reaped (nil while it runs).
    private let status = LockedBox<Int32?>(nil)

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - executable: an absolute path.
    ///   - arguments: the arguments after `argv[0]`.
    ///   - stderrPath: a file standard error is appended to; nil for `/dev/null`.
    /// - Throws: ``TestKitError`` when `posix_spawn` fails.
    public init(_ executable: String, _ arguments: [String], stderrPath: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(
            &actions, 2, stderrPath ?? "/dev/null", O_WRONLY | O_APPEND | O_CREAT, 0o644)
        // No descriptor of the test process leaks into the child (an inherited pipe end would keep
        // another test's reader from ever seeing end of file). Closing one that is not open is
        // no error for glibc's posix_spawn; the margin covers descriptors opened meanwhile.
        for fd in 3...(Self.highestOpenDescriptor() + 64) { posix_spawn_file_actions_addclose(&actions, fd) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            throw TestKitError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
    }

    deinit {
        // Poll first: a child that was reaped elsewhere (Foundation's Process reaps children it
        // did not start when it handles SIGCHLD) has given up its pid, which another process may
        // have been given since; killing that pid killed other tests' brokers.
        guard !Self.poll(pid, into: status) else { return }
        _ = kill(pid, SIGKILL)
        let pid = self.pid
        let status = self.status
        Thread { _ = Self.reap(pid, into: status, timeout: .seconds(10)) }.start()
    }

    /// Whether the child still runs (reaps it, without blocking, if it has ended).
    public var isRunning: Bool { !Self.poll(pid, into: status) }

    /// The exit status, or 128 + the signal that ended it; nil while it runs.
    public var exitStatus: Int32? {
        guard Self.poll(pid, into: status), let s = status.value else { return nil }
        return s & 0x7f == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f)
    }

    /// Sends `signal` to the child (nothing once it has been reaped).
    public func send(_ signal: Int32) {
        if isRunning { _ = kill(pid, signal) }
    }

    /// Waits until the child has ended, polling every 2 ms; blocks the calling thread.
    /// - Returns: whether it ended within `timeout`.
    @discardableResult
    public func waitForExit(timeout: Duration) -> Bool {
        Self.reap(pid, into: status, timeout: timeout)
    }

    /// Sends `signal`, waits up to `timeout`, then sends SIGKILL and waits up to `timeout` again;
    /// blocks the calling thread.
    /// - Returns: whether the child has ended.
    @discardableResult
    public func stop(_ signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) -> Bool {
        send(signal)
        if waitForExit(timeout: timeout) { return true }
        send(SIGKILL)
        return waitForExit(timeout: timeout)
    }

    /// The highest descriptor open in this process (from `/proc/self/fd`), at least 2.
    private static func highestOpenDescriptor() -> Int32 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { Int32($0) }.max().map { max($0, 2) } ?? 1024
    }

    /// Reaps `pid` if it has ended (`waitpid` with `WNOHANG`, under the lock so only one caller
    /// reaps), recording its wait status.
    /// - Returns: whether it has ended.
    private static func poll(_ pid: pid_t, into status: LockedBox<Int32?>) -> Bool {
        status.withLock { recorded in
            if recorded != nil { return true }
            var s: Int32 = 0
            let rc = waitpid(pid, &s, WNOHANG)
            if rc == pid {
                recorded = s
                return true
            }
            if rc == -1 && errno == ECHILD {
                recorded = 0x7f  // reaped elsewhere (should not happen): ended, status unknown
                return true
            }
            return false
        }
    }

    private static func reap(_ pid: pid_t, into status: LockedBox<Int32?>, timeout: Duration) -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while !poll(pid, into: status) {
            guard clock.now < end else { return false }
            usleep(2000)
        }
        return true
    }
}
