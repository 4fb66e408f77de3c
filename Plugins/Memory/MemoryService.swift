import CJameyMemory
import Foundation
import JameyGRDB
import JameyPluginKit
import Logging
import MemoryCore

/// The `memory.search` service table (`jamey/memory.h`): in-process search for other plugins.
enum MemoryService {
    /// The service name.
    static let name = JAMEY_MEMORY_SERVICE
    /// The contract version.
    static let version = JAMEY_MEMORY_VERSION

    /// What the table's `context` points to.
    final class Provider: Sendable {
        let store: MemoryStore
        let metrics: MemoryMetrics?
        /// The search-reply cache the bus topic uses too (nil: none).
        let cache: SearchCache?
        /// Where a failed search's cause is logged (nil: nowhere).
        let logger: Logger?
        /// Where a failed search is noted for the plugin's health (nil: nowhere).
        let failures: RecentDatabaseFailures?

        init(
            store: MemoryStore, metrics: MemoryMetrics?, cache: SearchCache? = nil, logger: Logger? = nil,
            failures: RecentDatabaseFailures? = nil
        ) {
            self.store = store
            self.metrics = metrics
            self.cache = cache
            self.logger = logger
            self.failures = failures
        }

        /// Runs one search: the reply body and its status. A search the bus topic or this table
        /// made before, with no write since, is answered from the cache (``SearchCache``).
        func search(_ payload: [UInt8]) -> (Int32, [UInt8]) {
            let reply: Outcome
            do {
                let request = try SearchRequest(payload)
                let started = ContinuousClock.now
                let key = cache?.key(request, payload: payload)
                if let key, let body = cache?.reply(key) {
                    metrics?.searched(request.filter, since: started)
                    return (200, body)
                }
                let now = store.clock()
                let hits = try store.searchBlocking(
                    request.query, filter: request.filter, limit: request.limit, reinforce: request.reinforce)
                metrics?.searched(request.filter, since: started)
                let body = Replies.hitsReply(hits).payload
                if let key { cache?.remember(key, body, hits: hits, now: now) }
                reply = .init(status: 200, body: body)
            } catch let error as MemoryError {
                reply = .init(status: Int32(error.status), body: Replies.problem(error).payload)
            } catch {
                let problem = MemoryError.database(error, request: nil, logger: logger, recent: failures)
                reply = .init(status: Int32(problem.status), body: Replies.problem(problem).payload)
            }
            return (reply.status, reply.body)
        }

        private struct Outcome {
            var status: Int32
            var body: [UInt8]
        }
    }

    /// A table whose context leads to the provider until the plugin stops (``ServiceContext``:
    /// a caller may hold the table as long as it runs; the store it reaches goes with the plugin).
    static func table(_ service: ServiceContext<Provider>) -> jamey_memory_v1 {
        var table = jamey_memory_v1()
        table.struct_size = UInt32(MemoryLayout<jamey_memory_v1>.size)
        table.context = service.pointer
        table.search = { context, request, length, reply, user in
            guard let context, let reply else { return 400 }
            let (status, body): (Int32, [UInt8])
            if let provider = ServiceContext<Provider>.provider(at: context) {
                let payload = request.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
                (status, body) = provider.search(payload)
            } else {
                let problem = MemoryError(
                    status: 503, slug: "stopped", detail: "the memory plugin has stopped; look the service up again once it runs")
                (status, body) = (503, Replies.problem(problem).payload)
            }
            body.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { reply(user, $0.baseAddress, $0.count) }
            }
            return status
        }
        return table
    }
}
