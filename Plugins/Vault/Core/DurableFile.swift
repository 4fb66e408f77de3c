import Foundation

/// Files that last through a power cut: written under a temporary name, synced, renamed into
/// place, and the directory synced so the rename itself lasts (a rename is a change of the
/// directory, which the file's own sync does not cover).
enum DurableFile {
    /// Replaces `url` with `data` (mode `mode`), whole or not at all.
    static func replace(_ url: URL, with data: Data, mode: mode_t = 0o600) throws {
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw VaultError(.io, "cannot create \(temporary.path): errno \(errno)") }
        var failure: Int32 = 0
        data.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n <= 0 {
                    failure = errno
                    return
                }
                done += n
            }
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        guard failure == 0, rename(temporary.path, url.path) == 0 else {
            let code = failure != 0 ? failure : errno
            unlink(temporary.path)
            throw VaultError(.io, "cannot write \(url.path): errno \(code)")
        }
        try syncDirectory(directory)
    }

    /// Syncs `directory`, so the names created, renamed or removed in it last.
    static func syncDirectory(_ directory: URL) throws {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw VaultError(.io, "cannot open \(directory.path) to sync it: errno \(errno)") }
        defer { close(fd) }
        // Some file systems (network and FUSE mounts) cannot sync a directory: their renames are
        // as durable as they make them.
        guard fsync(fd) == 0 || errno == EINVAL || errno == ENOTSUP || errno == EBADF else {
            throw VaultError(.io, "cannot sync \(directory.path): errno \(errno)")
        }
    }
}
