import Foundation
import Testing
import VaultCore

/// The repository's locks, seen through prune (an exclusive lock): who holds a lock is decided
/// by its holder's process on this host and by a heartbeat elsewhere, never by its age alone.
@Suite struct LockTests {
    /// A lock file as a run writes it: `host pid boot-id start-time pid-namespace` (this boot's,
    /// and this process's namespace unless `namespace` says another).
    func lock(
        _ f: Fixture, host: String, pid: Int32, started: String?, modified: Date, namespace: String? = nil
    ) throws {
        let locks = f.repoURL.appendingPathComponent("locks")
        try FileManager.default.createDirectory(at: locks, withIntermediateDirectories: true)
        let boot =
            (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "-"
        let mine =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid"))
            .map { String($0.filter { $0.isNumber }) } ?? "-"
        let url = locks.appendingPathComponent("backup-other-\(UUID().uuidString)")
        try Data("\(host) \(pid) \(boot) \(started ?? "-") \(namespace ?? mine)\n".utf8).write(to: url)
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: url.path)
    }

    /// This process's start time, as the lock records it.
    var startTime: String {
        let stat = (try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)) ?? ""
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        return String(fields[19])
    }

    func prune(_ f: Fixture) throws -> PruneReport {
        try Maintenance(repository: try f.repository, key: f.key).prune(dryRun: false)
    }

    @Test func aBackupRunningLongerThanAnHourStillHoldsItsLock() throws {
        let f = try Fixture()
        defer { f.destroy() }
        // This process, whose lock has not been touched for two hours: it still runs.
        try lock(
            f, host: ProcessInfo.processInfo.hostName, pid: getpid(), started: startTime,
            modified: Date().addingTimeInterval(-7200))
        #expect { try prune(f) } throws: { "\($0)".contains("repository is locked by backup-other-") }
    }

    @Test func aLockOfAProcessGoneIsRemovedEvenWhenItsIdIsReused() throws {
        let f = try Fixture()
        defer { f.destroy() }
        // This process's id, written by an earlier process of that id (another start time), now.
        try lock(f, host: ProcessInfo.processInfo.hostName, pid: getpid(), started: "1", modified: Date())
        _ = try prune(f)
        let left = try FileManager.default.contentsOfDirectory(atPath: f.repoURL.appendingPathComponent("locks").path)
        #expect(left.isEmpty, "\(left)")
    }

    /// A container with host networking shares the host name, not the process ids: its lock is
    /// judged by its heartbeat, never removed because a process of that id is not found here.
    @Test func aLockOfAnotherProcessNamespaceOnThisHostIsNotRemoved() throws {
        let f = try Fixture()
        defer { f.destroy() }
        try lock(
            f, host: ProcessInfo.processInfo.hostName, pid: 999_999, started: "1", modified: Date(), namespace: "1")
        #expect { try prune(f) } throws: { "\($0)".contains("repository is locked by backup-other-") }
    }

    @Test func aLockOfAnotherHostHoldsWhileItIsTouched() throws {
        let f = try Fixture()
        defer { f.destroy() }
        try lock(f, host: "elsewhere.example", pid: 4242, started: "99", modified: Date().addingTimeInterval(-60))
        #expect { try prune(f) } throws: { "\($0)".contains("repository is locked by backup-other-") }
    }

    @Test func aLockOfAnotherHostNotTouchedOrDatedInTheFutureIsIgnored() throws {
        let f = try Fixture()
        defer { f.destroy() }
        try lock(f, host: "elsewhere.example", pid: 4242, started: "99", modified: Date().addingTimeInterval(-600))
        try lock(f, host: "elsewhere.example", pid: 4243, started: "99", modified: Date().addingTimeInterval(10 * 365 * 86400))
        _ = try prune(f)
    }
}
