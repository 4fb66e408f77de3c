import Foundation
import MemoryCore
import Testing

@testable import MemoryPlugin

/// Online backup and restore, and durability across reopening the file.
@Suite struct SnapshotTests {
    @Test func backupThenRestoreRoundTrips() async throws {
        let (store, _, dir) = try makeStore()
        let a = try await store.put(item("kept through the backup", tags: ["x"]))
        let snapshot = dir + "/snapshot"
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        try store.snapshot(into: snapshot)
        _ = try await store.put(item("written after the backup"))
        #expect(try await store.delete(id: a))
        try store.restore(from: snapshot)
        #expect(try await store.list(.init(), limit: 10).map(\.0.id) == [a])
        #expect(try await store.ids("backup") == [a])  // the FTS index came back with the rows
        #expect(try await store.ids("after").isEmpty)
    }

    @Test func acknowledgedStoresAreThereAfterReopening() async throws {
        let (store, clock, dir) = try makeStore()
        var ids: [String] = []
        for i in 0..<20 { ids.append(try await store.put(item("durable item \(i) of twenty distinct \(i * 7919)"))) }
        let reopened = try MemoryStore(path: dir + "/memory.sqlite", clock: clock.closure)
        #expect(Set(try await reopened.list(.init(), limit: 100).map(\.0.id)) == Set(ids))
        _ = store
    }
}
