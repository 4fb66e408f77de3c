#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One server per `data_dir`: an exclusive `flock` on `<data_dir>/jamey.lock`, held for as long
/// as the process lives (the kernel drops it when the process ends, `kill -9` included).
///
/// Two servers on one `data_dir` would open the same SQLite databases, share a node id, and
/// checkpoint each other's WAL, which SQLite before 3.51.3 can turn into a corrupt database
/// (the memory plugin's guard against that works within one process only). The file also
/// holds the owner's PID, for the message the second server gives.
public final class DataDirectoryLock: Sendable {
    /// The lock file.
    public let path: String
    private let descriptor: Int32

    /// Takes the lock on `directory` (created when missing) or says who holds it. Taken before
    /// anything else is written there: two servers starting at once on a new data_dir each
    /// wrote a `node-id`, and the one that kept its lock could run under the other's id.
    /// - Throws: ``KernelError`` when another process holds it, or the file cannot be opened.
    public init(directory: String) throws(KernelError) {
        path = directory + "/jamey.lock"
        guard FileSystem.makeDirectories(directory, mode: 0o750) else {
            throw KernelError("data_dir \(directory) cannot be created: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec: an isolated plugin's process must not keep the lock after the server ends.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw KernelError("cannot open the data_dir lock \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(fd)
            guard reason == EWOULDBLOCK else {
                throw KernelError("cannot lock the data_dir lock \(path): \(String(cString: strerror(reason)))")
            }
            let owner = FileSystem.readText(path)?.trimmingWhitespace() ?? ""
            throw KernelError(
                "data_dir \(directory) is in use by another jamey serve\(owner.isEmpty ? "" : " (pid \(owner))") holding \(path); two servers on one data_dir would write the same databases: give each its own data_dir"
            )
        }
        descriptor = fd
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.utf8CString.withUnsafeBufferPointer { pwrite(fd, $0.baseAddress, $0.count - 1, 0) }
    }

    deinit { close(descriptor) }

    /// The PID written in `directory`'s lock when a process holds it (`"?"` if it wrote none),
    /// else nil; creates nothing. For tools that must not write a running server's data.
    public static func holder(of directory: String) -> String? {
        let path = directory + "/jamey.lock"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) != 0, errno == EWOULDBLOCK else { return nil }
        let owner = FileSystem.readText(path)?.trimmingWhitespace() ?? ""
        return owner.isEmpty ? "?" : owner
    }
}
