import CJameyABI
import CJameySystem
import Dispatch
import JameyIsolationWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One run of an isolated plugin's runner process: its pid, its socket (hooks, calls, logs, and
/// its end: the process is gone when it closes), its shared-memory rings (the hot path:
/// deliveries down, replies and publishes up) and the hook calls waiting for it. A restart makes a
/// new one.
final class IsolatedChild: Sendable {
    let pid: Int32
    let socket: FrameSocket
    /// Kernel → runner: deliveries.
    let down: FrameRing
    /// Runner → kernel: replies, "handled" frames, publishes, metric records.
    let up: FrameRing
    /// Where a delivery waits for room in `down` when the thread that made it must not wait (it
    /// reads `up`: waiting could leave both rings full, each side waiting for the other).
    let spill = DispatchQueue(label: "jamey.isolation.spill")
    /// Counts the runs of one supervisor (1, 2, ...): subscriptions remember which run they
    /// belong to.
    let generation: Int
    /// Set before the kernel kills the process on purpose: the exit reason to report.
    let killReason = Mutex<String?>(nil)
    private let hooks = Mutex<[UInt64: HookSlot]>([:])
    private let nextSeq = Atomic<UInt64>(1)
    /// Signalled when the process has been reaped and the supervisor has recorded its exit.
    let exited = DispatchSemaphore(value: 0)

    final class HookSlot: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var code: Int32 = JAMEY_E_SHUTDOWN
        var text = ""
    }

    private init(pid: Int32, socket: FrameSocket, rings: SharedRings, generation: Int) {
        self.pid = pid
        self.socket = socket
        self.down = rings.makeDown()
        self.up = rings.makeUp()
        self.generation = generation
    }

    /// Starts a runner for `library`.
    /// - Returns: the child, or a sentence saying why it did not start.
    static func spawn(
        runner: String, library: String, settings: IsolationSettings, generation: Int
    ) -> Result<IsolatedChild, IsolationFailure> {
        guard access(runner, X_OK) == 0 else {
            return .failure(
                IsolationFailure(
                    "the plugin runner \(runner) is not an executable file (build the jamey-plugin-runner product, or set JAMEY_PLUGIN_RUNNER)"
                ))
        }
        var fds: [Int32] = [-1, -1]
        let made = fds.withUnsafeMutableBufferPointer { jamey_socket_pair($0.baseAddress!) }
        guard made == 0 else {
            return .failure(IsolationFailure("cannot create a socket pair: \(String(cString: strerror(-made)))"))
        }
        let rings: SharedRings
        switch SharedRings.create() {
        case .success(let r): rings = r
        case .failure(let error):
            close(fds[0])
            close(fds[1])
            return .failure(IsolationFailure(error.description))
        }
        defer { rings.closeDescriptor() }
        let argv = [
            runner, String(getpid()), library, String(settings.memoryMB), String(settings.cpuSeconds),
            String(settings.openFiles),
        ]
        let pid = RunnerSpawner.spawn(argv, fd: fds[1], ringFD: rings.fd)
        close(fds[1])
        guard pid > 0 else {
            close(fds[0])
            return .failure(IsolationFailure("cannot start \(runner): \(String(cString: strerror(-pid)))"))
        }
        return .success(IsolatedChild(pid: pid, socket: FrameSocket(fd: fds[0]), rings: rings, generation: generation))
    }

    /// Sends a hook frame and waits for its result at most `deadline`, which the frame carries
    /// too (the plugin's `hook_time_left` in the child).
    /// - Returns: the hook's code and text; nil when the deadline passed or the child died.
    func callHook(_ hook: HookKind, config: [UInt8] = [], deadline: Duration) -> (Int32, String)? {
        let seq = nextSeq.add(1, ordering: .relaxed).oldValue
        let slot = HookSlot()
        hooks.withLock { $0[seq] = slot }
        var frame = WireWriter(.hook, capacity: config.count + 24)
        frame.u64(seq)
        frame.u8(hook.rawValue)
        frame.bytes(config)
        frame.u64(UInt64(max(0, deadline.wholeNanoseconds)))
        guard socket.send(frame.finish()) else {
            hooks.withLock { _ = $0.removeValue(forKey: seq) }
            return nil
        }
        let nanos = Int(deadline.inSeconds * 1e9)
        guard slot.done.wait(timeout: .now() + .nanoseconds(nanos)) == .success else {
            hooks.withLock { _ = $0.removeValue(forKey: seq) }
            return nil
        }
        return slot.code == JAMEY_E_SHUTDOWN && slot.text == IsolatedChild.goneMarker ? nil : (slot.code, slot.text)
    }

    /// Hands a hook result to its waiting caller (on the reader thread).
    func finishHook(_ seq: UInt64, code: Int32, text: String) {
        guard let slot = hooks.withLock({ $0.removeValue(forKey: seq) }) else { return }
        slot.code = code
        slot.text = text
        slot.done.signal()
    }

    /// Set once the socket has closed: the process is gone or going.
    private let gone = Atomic<Bool>(false)

    /// Wakes every waiting hook call with "no result" (the process is gone).
    func failHooks() {
        gone.store(true, ordering: .releasing)
        for slot in hooks.withLock({ h in
            defer { h.removeAll() }; return Array(h.values)
        }) {
            slot.text = IsolatedChild.goneMarker
            slot.done.signal()
        }
    }

    private static let goneMarker = "\u{0}gone"

    /// Kills the process (SIGKILL) and remembers why; nothing when it has already gone (a hook
    /// call that returned nothing because the process died is no hang).
    func kill(because reason: String) {
        guard !gone.load(ordering: .acquiring) else { return }
        killReason.withLock { if $0 == nil { $0 = reason } }
        _ = Glibc.kill(pid, SIGKILL)
    }

    /// Waits for the process to end (up to 2 s after the socket closed, then SIGKILL) and says how
    /// it ended.
    func reap() -> String {
        var status: Int32 = 0
        var waited = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { return killReason.withLock { $0 } ?? "the process could not be waited for" }
            if waited == 2000 { _ = Glibc.kill(pid, SIGKILL) }
            usleep(1000)
            waited += 1
        }
        if let reason = killReason.withLock({ $0 }) { return reason }
        return Self.describe(status: status)
    }

    /// "killed by signal 11 (SIGSEGV)", "exited with status 70".
    static func describe(status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        let names: [Int32: String] = [
            SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGKILL: "SIGKILL", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
            SIGILL: "SIGILL", SIGXCPU: "SIGXCPU, CPU time limit", SIGTERM: "SIGTERM", SIGTRAP: "SIGTRAP",
        ]
        return "killed by signal \(signal) (\(names[signal] ?? "signal"))"
    }
}

/// Why an isolated plugin could not be started, as a sentence.
struct IsolationFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
