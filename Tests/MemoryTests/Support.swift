import Foundation
import JameyTestKit
import MemoryCore
import Synchronization

@testable import MemoryPlugin

/// A clock the test moves.
final class TestClock: Sendable {
    private let time = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    /// The current reading.
    var now: Date { time.withLock { $0 } }
    /// Moves the clock forward.
    func advance(_ seconds: Double) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
    /// The closure the store reads.
    var closure: @Sendable () -> Date { { [self] in now } }
}

/// A store on a fresh SQLite file in a temporary directory.
func makeStore(_ settings: MemorySettings = .init(), clock: TestClock = TestClock()) throws -> (MemoryStore, TestClock, String) {
    let dir = try TemporaryDirectory.make(prefix: "jamey-memory")
    return (try MemoryStore(path: dir + "/memory.sqlite", settings: settings, clock: clock.closure), clock, dir)
}

/// A new item.
func item(
    _ content: String, _ layer: MemoryLayer = .shortTerm, tags: [String] = [], source: String = "test",
    importance: Double = 0.5, pinned: Bool = false
) -> NewItem {
    NewItem(layer: layer, content: content, tags: tags, source: source, importance: importance, pinned: pinned)
}

extension MemoryStore {
    /// Stores one item and returns its id.
    func put(_ new: NewItem) async throws -> String { try await store([new])[0].item.id }

    /// The ids of a plain-word search, best first, without reinforcing.
    func ids(_ text: String, _ filter: ItemFilter = .init(), limit: Int = 10, mode: FTSQuery.Mode = .all) async throws -> [String]
    {
        try await search(FTSQuery(text, mode: mode), filter: filter, limit: limit, reinforce: false).map(\.item.id)
    }
}

/// The status of a thrown ``MemoryError`` (nil when something else or nothing was thrown).
func status(_ body: () async throws -> Void) async -> Int? {
    do {
        try await body()
        return nil
    } catch let error as MemoryError {
        return error.status
    } catch {
        return nil
    }
}
