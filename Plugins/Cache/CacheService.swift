import CJameyCache
import CacheCore
import Foundation
import JameyPluginKit

/// The `cache.l1` service table (`jamey/cache.h`): L1/L3 reads and writes for other plugins
/// without a bus round trip.
enum CacheService {
    /// The service name.
    static let name = JAMEY_CACHE_SERVICE
    /// The contract version.
    static let version = JAMEY_CACHE_VERSION

    /// What the table's `context` points to: the namespaces in id order.
    final class Provider: Sendable {
        let namespaces: [CacheNamespace]

        init(_ namespaces: [CacheNamespace]) { self.namespaces = namespaces }

        func namespace(_ id: Int32) -> CacheNamespace? {
            id >= 0 && Int(id) < namespaces.count ? namespaces[Int(id)] : nil
        }
    }

    static func key(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String? {
        guard let pointer, length > 0, length <= CachePlugin.maxKeyBytes else { return nil }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        guard !bytes.contains(0) else { return nil }  // L3's SQLite text would end there
        return String(validating: bytes, as: UTF8.self)
    }

    /// A table whose context leads to the provider until the plugin stops (``ServiceContext``:
    /// a caller may hold the table as long as it runs; the tiers it reaches go with the plugin).
    /// Every call after the stop answers `JAMEY_CACHE_E_UNAVAILABLE`.
    static func table(_ service: ServiceContext<Provider>) -> jamey_cache_v1 {
        var table = jamey_cache_v1()
        table.struct_size = UInt32(MemoryLayout<jamey_cache_v1>.size)
        table.context = service.pointer
        table.namespace_id = { context, name, length in
            guard let provider = ServiceContext<Provider>.provider(at: context) else { return JAMEY_CACHE_E_UNAVAILABLE }
            guard let name = CacheService.key(name, length) else { return JAMEY_CACHE_E_INVALID }
            return provider.namespaces.firstIndex { $0.name == name }.map { Int32($0) } ?? JAMEY_CACHE_E_INVALID
        }
        table.get = { context, id, keyPointer, keyLength, found, user in
            guard let provider = ServiceContext<Provider>.provider(at: context) else { return JAMEY_CACHE_E_UNAVAILABLE }
            guard let found, let key = CacheService.key(keyPointer, keyLength),
                let ns = provider.namespace(id)
            else { return JAMEY_CACHE_E_INVALID }
            do {
                guard let value = try ns.getLocal(key) else { return JAMEY_CACHE_MISSING }
                value.bytes.withUnsafeBufferPointer { found(user, $0.baseAddress, $0.count) }
                return JAMEY_CACHE_FOUND
            } catch {
                return JAMEY_CACHE_E_STORAGE
            }
        }
        table.put = { context, id, keyPointer, keyLength, valuePointer, valueLength, ttl in
            guard let provider = ServiceContext<Provider>.provider(at: context) else { return JAMEY_CACHE_E_UNAVAILABLE }
            guard let key = CacheService.key(keyPointer, keyLength), ttl >= 0, ttl <= CachePlugin.maxTTLMs,
                valueLength == 0 || valuePointer != nil,
                let ns = provider.namespace(id)
            else { return JAMEY_CACHE_E_INVALID }
            guard valueLength <= ns.settings.maxValueBytes else { return JAMEY_CACHE_E_TOO_LARGE }
            let bytes = valuePointer.map { Array(UnsafeBufferPointer(start: $0, count: valueLength)) } ?? []
            do {
                try ns.store(key, CachedValue(bytes: bytes, expiresAt: ns.expiry(ttlMs: ttl == 0 ? nil : Int(ttl))))
            } catch {
                return JAMEY_CACHE_E_STORAGE
            }
            return ns.l1.peek(CacheKey(key)) != nil ? JAMEY_CACHE_STORED : JAMEY_CACHE_NOT_ADMITTED
        }
        table.invalidate = { context, id, keyPointer, keyLength in
            guard let provider = ServiceContext<Provider>.provider(at: context) else { return JAMEY_CACHE_E_UNAVAILABLE }
            guard let key = CacheService.key(keyPointer, keyLength),
                let ns = provider.namespace(id)
            else { return JAMEY_CACHE_E_INVALID }
            do { return try ns.invalidate(key: key) ? JAMEY_CACHE_REMOVED : JAMEY_CACHE_MISSING } catch {
                return JAMEY_CACHE_E_STORAGE
            }
        }
        return table
    }
}
