import CJameyCache
import Foundation
import JameyPluginKit
import JameyTestKit
import Testing

@testable import Cache

/// The `cache.l1` service table (jamey/cache.h), called through its C function pointers.
@Suite struct ServiceTests {
    final class Collector {
        var value: [UInt8]?
    }

    func withBytes<R>(_ text: String, _ body: (UnsafePointer<CChar>, Int) -> R) -> R {
        Array(text.utf8CString.dropLast()).withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
    }

    func get(_ table: jamey_cache_v1, _ ns: Int32, _ key: String) -> (Int32, String?) {
        let collector = Collector()
        let status = withBytes(key) { k, n in
            table.get?(
                table.context, ns, k, n,
                { user, value, length in
                    guard let user else { return }
                    Unmanaged<Collector>.fromOpaque(user).takeUnretainedValue().value = Array(
                        UnsafeBufferPointer(start: value, count: length))
                }, Unmanaged.passUnretained(collector).toOpaque()) ?? -1
        }
        return (status, collector.value.map { String(decoding: $0, as: UTF8.self) })
    }

    func put(_ table: jamey_cache_v1, _ ns: Int32, _ key: String, _ value: String, ttl: Int64 = 0) -> Int32 {
        let bytes = Array(value.utf8)
        return withBytes(key) { k, n in
            bytes.withUnsafeBufferPointer { table.put?(table.context, ns, k, n, $0.baseAddress, $0.count, ttl) ?? -1 }
        }
    }

    @Test func getPutInvalidateThroughTheCTable() async throws {
        let directory = try TemporaryDirectory.make(prefix: "jamey-cache-service")
        let store = try L3Store(directory: directory)
        let settings = CacheConfiguration.Namespace(
            name: "svc", maxBytes: 1 << 20, l3MaxBytes: 1 << 20, maxValueBytes: 16, defaultTtlMs: 0, policy: "w-tinylfu",
            origin: "", failureTtlMs: 0, warmEntries: 0)
        let ns = CacheNamespace(
            settings: settings, policy: .tinyLFU, l3: store, metrics: .discarding(namespace: "svc"),
            loader: nil)
        let context = ServiceContext(CacheService.Provider([ns]))
        let table = CacheService.table(context)
        #expect(table.struct_size == UInt32(MemoryLayout<jamey_cache_v1>.size))
        let id = withBytes("svc") { table.namespace_id?(table.context, $0, $1) ?? -1 }
        #expect(id == 0)
        #expect(withBytes("nope") { table.namespace_id?(table.context, $0, $1) ?? -1 } == JAMEY_CACHE_E_INVALID)
        #expect(put(table, id, "k", "hello") == JAMEY_CACHE_STORED)
        #expect(get(table, id, "k") == (JAMEY_CACHE_FOUND, "hello"))
        #expect(get(table, id, "other").0 == JAMEY_CACHE_MISSING)
        #expect(put(table, id, "k", String(repeating: "x", count: 17)) == JAMEY_CACHE_E_TOO_LARGE)
        #expect(put(table, id, "k", "v", ttl: -1) == JAMEY_CACHE_E_INVALID)
        #expect(put(table, 7, "k", "v") == JAMEY_CACHE_E_INVALID)
        #expect(put(table, id, "k\u{0}x", "v") == JAMEY_CACHE_E_INVALID, "L3's text would end at the NUL")
        #expect(get(table, id, "k\u{0}x").0 == JAMEY_CACHE_E_INVALID)
        #expect(get(table, id, "k") == (JAMEY_CACHE_FOUND, "hello"))
        let removed = withBytes("k") { table.invalidate?(table.context, id, $0, $1) ?? -1 }
        #expect(removed == JAMEY_CACHE_REMOVED)
        #expect(get(table, id, "k").0 == JAMEY_CACHE_MISSING)
        // Once the plugin has stopped (its context closed), every call says so; the table stays
        // callable and the tiers are let go.
        context.close()
        #expect(put(table, id, "k", "v") == JAMEY_CACHE_E_UNAVAILABLE)
        #expect(get(table, id, "k").0 == JAMEY_CACHE_E_UNAVAILABLE)
        #expect(withBytes("svc") { table.namespace_id?(table.context, $0, $1) ?? -1 } == JAMEY_CACHE_E_UNAVAILABLE)
        #expect(withBytes("k") { table.invalidate?(table.context, id, $0, $1) ?? -1 } == JAMEY_CACHE_E_UNAVAILABLE)
    }

    @Test func thePluginRegistersTheService() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            let service = k.test.kernel.services.service(named: "cache.l1")
            #expect(service?.owner == "cache")
            #expect(service?.size == MemoryLayout<jamey_cache_v1>.size)
        }
    }
}
