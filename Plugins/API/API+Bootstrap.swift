import Foundation
import JameyPluginKit

#if canImport(Glibc)
    import Glibc
#endif

extension API {
    /// The environment variable holding a bootstrap admin key.
    static let adminKeyVariable = "JAMEY_API_ADMIN_KEY"

    /// Sets up the bootstrap admin key: `JAMEY_API_ADMIN_KEY`, else the config's `admin_key`
    /// (either one is accepted as an admin key and never stored), else — when no active admin
    /// key is stored — a new stored admin key written to `<data_dir>/api/admin.key` (mode 0600).
    func bootstrapAdminKey(directory: String) throws {
        let environment = ProcessInfo.processInfo.environment[Self.adminKeyVariable] ?? ""
        let given =
            !environment.isEmpty
            ? (environment, Self.adminKeyVariable) : ((settings.adminKey ?? ""), "plugins.api.config.admin_key")
        if !given.0.isEmpty {
            guard given.0.count >= 16 else {
                throw JameyError(
                    "the admin key in \(given.1) is too short: use at least 16 characters (32 random ones are better)")
            }
            keys.setBootstrapKey(given.0)
            context.logger.notice("admin key: from \(given.1)")
            return
        }
        let path = directory + "/admin.key"
        guard !keys.hasActiveAdminKey() else {
            context.logger.notice("admin key: stored keys only (the first one was written to \(path))")
            return
        }
        // The file first: a stop between the two leaves a key nobody stored (the next start makes
        // another), never a stored admin key whose text nobody has.
        let (key, text) = KeyStore.newKey(name: "bootstrap", scope: .admin, expiresAt: nil)
        try Self.writePrivate(text + "\n", to: path)
        do {
            try keys.insert(key)
        } catch {
            unlink(path)
            throw error
        }
        context.logger.notice("admin key: generated key \(key.id) into \(path) (mode 0600); keep it, then delete the file")
    }

    /// Writes `text` to `path` with mode 0600, atomically (through a temporary file and rename).
    static func writePrivate(_ text: String, to path: String) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw JameyError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let written = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        let synced = fsync(fd)
        close(fd)
        guard written == text.utf8.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw JameyError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        // The rename itself lasts once the directory is synced.
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
