import CJameyMemory
import Foundation
import JameyPluginKit
import JameyTestKit
import MemoryCore
import Testing

@testable import MemoryPlugin

/// The `memory.search` service table (jamey/memory.h), called through its C function pointer.
@Suite struct ServiceTests {
    func call(_ table: jamey_memory_v1, _ request: String) -> (Int32, String) {
        callWithReply(request) { request, length, reply, user in
            table.search?(table.context, request, length, reply, user) ?? -1
        }
    }

    @Test func searchThroughTheCTable() async throws {
        let (store, _, _) = try makeStore()
        let id = try await store.put(item("the lighthouse keeper's log"))
        let table = MemoryService.table(ServiceContext(.init(store: store, metrics: nil)))
        #expect(table.struct_size == UInt32(MemoryLayout<jamey_memory_v1>.size))
        let (status, text) = call(table, #"{"query":"lighthouse"}"#)
        #expect(status == 200)
        #expect(text.contains(id))
        let (bad, problem) = call(table, #"{"query":"(lighthouse","syntax":true}"#)
        #expect(bad == 400)
        #expect(problem.contains("urn:jamey:problem:bad-query"))
        let (misspelt, unknown) = call(table, #"{"query":"lighthouse","limt":1}"#)
        #expect(misspelt == 400)
        #expect(unknown.contains("unknown member 'limt'"))
        let (twice, repeated) = call(table, #"{"query":"lighthouse","query":"keeper"}"#)
        #expect(twice == 400)
        #expect(repeated.contains("member 'query' appears more than once"))
    }

    @Test func thePluginRegistersTheService() async throws {
        try await MemoryKernel.with { k in
            let service = k.test.kernel.services.service(named: "memory.search")
            #expect(service?.owner == "memory")
            #expect(service?.size == MemoryLayout<jamey_memory_v1>.size)
        }
    }
}
