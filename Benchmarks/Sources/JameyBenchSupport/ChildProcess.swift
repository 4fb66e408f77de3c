import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A child process started with `posix_spawn`, for timing process start-up without Foundation's
/// `Process` in the way.
public struct ChildProcess: Sendable {
    /// The child's pid.
    public let pid: pid_t

    /// How a child ended.
    public struct Exit: Sendable {
        /// The raw wait status.
        public let status: Int32
        /// Peak resident set size of the child, in KiB (`ru_maxrss`).
        public let maxResidentKiB: Int
        /// Whether it exited normally with status 0.
        public var succeeded: Bool { status & 0x7f == 0 && (status >> 8) & 0xff == 0 }
    }

    /// The current environment without what must not leak into a measured child: `LD_PRELOAD`
    /// (the benchmark runner preloads its malloc interposer) and `JAMEY_*` config overrides.
    public static func cleanEnvironment(adding extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            key != "LD_PRELOAD" && !key.hasPrefix("JAMEY_") && key != "NOTIFY_SOCKET"
        }
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// Starts `executable` with `arguments`; its stdout and stderr go to `outputPath`.
    /// - Throws: ``BenchError`` when `posix_spawn` fails.
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String], outputPath: String
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard rc == 0 else {
            throw BenchError("posix_spawn \(executable) failed: \(String(cString: strerror(rc)))")
        }
        return ChildProcess(pid: pid)
    }

    /// Waits for the child to exit; after `timeout` it is killed (SIGKILL) and reaped.
    /// - Returns: the exit, and whether it had to be killed.
    @discardableResult
    public func wait(timeout: Duration = .seconds(20)) -> (exit: Exit, killed: Bool) {
        let deadline = Clock.nanoseconds() &+ UInt64(timeout.components.seconds) * 1_000_000_000
        var status: Int32 = 0
        var usage = rusage()
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { return (Exit(status: status, maxResidentKiB: usage.ru_maxrss), false) }
            if r < 0 && errno != EINTR { return (Exit(status: -1, maxResidentKiB: 0), false) }
            if Clock.nanoseconds() > deadline {
                kill(pid, SIGKILL)
                _ = wait4(pid, &status, 0, &usage)
                return (Exit(status: status, maxResidentKiB: usage.ru_maxrss), true)
            }
            usleep(200)
        }
    }

    /// Blocks until the child exits, with no timeout; the cheapest way to time a short command.
    public func waitBlocking() -> Exit {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        return Exit(status: status, maxResidentKiB: usage.ru_maxrss)
    }

    /// Sends `signal` (SIGTERM by default).
    public func signal(_ signal: Int32 = SIGTERM) { kill(pid, signal) }

    /// `VmRSS` of the running child from `/proc/<pid>/status`, in KiB (nil once it is gone).
    public func residentKiB() -> Int? {
        // procfs files report size 0, so read them in a loop rather than by their stat size.
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }
}

/// A bound `AF_UNIX` datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
public final class NotifySocket {
    /// The socket's path, for `NOTIFY_SOCKET`.
    public let path: String
    private let fd: Int32

    /// Binds a new socket at `path` (removed first if it exists).
    public init(path: String) throws {
        self.path = path
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket(AF_UNIX) failed: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw BenchError("notify socket path is too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            close(fd)
            throw BenchError("bind(\(path)) failed: \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Discards datagrams already queued.
    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 512)
        while recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) > 0 {}
    }

    /// Waits until a datagram containing `state` (e.g. `READY=1`) arrives.
    /// - Returns: the monotonic time (``Clock/nanoseconds()``) of its arrival, or nil at `timeout`.
    public func wait(for state: String, timeout: Duration) -> UInt64? {
        let deadline = Clock.nanoseconds() &+ UInt64(timeout.components.seconds) * 1_000_000_000
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let now = Clock.nanoseconds()
            guard now < deadline else { return nil }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(min((deadline - now) / 1_000_000 + 1, 1000)))
            if ready <= 0 { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            let arrived = Clock.nanoseconds()
            if n > 0, String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").contains(Substring(state)) {
                return arrived
            }
        }
    }
}
