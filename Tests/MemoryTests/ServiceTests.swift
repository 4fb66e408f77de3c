import CJameyMemory
import Foundation
import MemoryCore
import Testing

@testable import MemoryPlugin

/// The `memory.search` service table (jamey/memory.h), called through its C function pointer.
@Suite struct ServiceTests {
    /// Collects the reply the table hands to its callback.
    final class Collector {
        var text = ""
    }

    func call(_ table: jamey_memory_v1, _ request: String) -> (Int32, String) {
        let collector = Collector()
        let bytes = Array(request.utf8)
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                table.search?(
                    table.context, chars.baseAddress, chars.count,
                    { user, json, length in
                        guard let user, let json else { return }
                        let collector = Unmanaged<Collector>.fromOpaque(user).takeUnretainedValue()
                        collector.text = String(
                            decoding: UnsafeRawBufferPointer(start: json, count: length), as: UTF8.self)
                    }, Unmanaged.passUnretained(collector).toOpaque()) ?? -1
            }
        }
        return (status, collector.text)
    }

    @Test func searchThroughTheCTable() async throws {
        let (store, _, _) = try makeStore()
        let id = try await store.put(item("the lighthouse keeper's log"))
        let table = MemoryService.table(.init(store: store, metrics: nil))
        #expect(table.struct_size == UInt32(MemoryLayout<jamey_memory_v1>.size))
        let (status, text) = call(table, #"{"query":"lighthouse"}"#)
        #expect(status == 200)
        #expect(text.contains(id))
        let (bad, problem) = call(table, #"{"query":"(lighthouse","syntax":true}"#)
        #expect(bad == 400)
        #expect(problem.contains("urn:jamey:problem:bad-query"))
    }

    @Test func thePluginRegistersTheService() async throws {
        try await MemoryKernel.with { k in
            let service = k.test.kernel.services.service(named: "memory.search")
            #expect(service?.owner == "memory")
            #expect(service?.size == MemoryLayout<jamey_memory_v1>.size)
        }
    }
}
