import CJameyABI
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Lays the manifest out as a C descriptor in memory that lives as long as the process (plugins
/// are never unloaded, so nothing here is ever freed), and points its hooks at the kit's C entry
/// functions.
enum DescriptorBuilder {
    /// - Parameters:
    ///   - factory: the plugin type's manifest and hooks.
    ///   - initHook: the C init hook; an in-process plugin gets one of its own (it names the factory).
    ///   - checkHook: the C check hook, likewise.
    static func build(
        _ factory: PluginFactory, initHook: jamey_plugin_init_fn = KitHooks.initHook,
        checkHook: jamey_plugin_check_fn = KitHooks.checkHook
    ) -> UnsafeMutablePointer<jamey_plugin_descriptor> {
        let m = factory.manifest
        let d = UnsafeMutablePointer<jamey_plugin_descriptor>.allocate(capacity: 1)
        d.initialize(to: jamey_plugin_descriptor())
        d.pointee.struct_size = UInt32(MemoryLayout<jamey_plugin_descriptor>.size)
        d.pointee.abi_major = UInt16(JAMEY_ABI_MAJOR)
        d.pointee.abi_minor = UInt16(JAMEY_ABI_MINOR)
        d.pointee.name = keep(m.name)
        d.pointee.version = keep(m.version)
        d.pointee.description = keep(m.description)
        d.pointee.requires_list = UnsafePointer(
            dependencies(m.requires.map { ($0.name, $0.versions, $0.optional ? JAMEY_DEPENDENCY_OPTIONAL : 0) }))
        d.pointee.requires_count = m.requires.count
        d.pointee.provides_list = UnsafePointer(dependencies(m.provides.map { ($0.name, $0.version, 0) }))
        d.pointee.provides_count = m.provides.count
        d.pointee.config_fields = UnsafePointer(fields(m.configuration))
        d.pointee.config_field_count = m.configuration.count
        d.pointee.routes = UnsafePointer(routes(m.routes))
        d.pointee.route_count = m.routes.count
        d.pointee.`init` = initHook
        d.pointee.start = KitHooks.startHook
        d.pointee.stop = KitHooks.stopHook
        d.pointee.`deinit` = KitHooks.deinitHook
        d.pointee.health = KitHooks.healthHook
        if factory.reconfigure != nil { d.pointee.reconfigure = KitHooks.reconfigureHook }
        if factory.check != nil { d.pointee.check = checkHook }
        if factory.snapshot != nil {
            d.pointee.snapshot = KitHooks.snapshotHook
            d.pointee.restore = KitHooks.restoreHook
        }
        if factory.handOver != nil {
            d.pointee.hand_over = KitHooks.handOverHook
            d.pointee.take_over = KitHooks.takeOverHook
        }
        return d
    }

    static func keep(_ s: String) -> UnsafePointer<CChar> { UnsafePointer(strdup(s)!) }

    private static func dependencies(_ list: [(String, String, UInt32)]) -> UnsafeMutablePointer<jamey_dependency>? {
        guard !list.isEmpty else { return nil }
        let p = UnsafeMutablePointer<jamey_dependency>.allocate(capacity: list.count)
        for (i, (name, version, flags)) in list.enumerated() {
            p.advanced(by: i).initialize(
                to: jamey_dependency(
                    struct_size: UInt32(MemoryLayout<jamey_dependency>.size), flags: flags, name: keep(name),
                    version: keep(version)))
        }
        return p
    }

    private static func routes(_ list: [PluginManifest.Route]) -> UnsafeMutablePointer<jamey_route>? {
        guard !list.isEmpty else { return nil }
        let p = UnsafeMutablePointer<jamey_route>.allocate(capacity: list.count)
        for (i, r) in list.enumerated() {
            p.advanced(by: i).initialize(
                to: jamey_route(
                    struct_size: UInt32(MemoryLayout<jamey_route>.size), flags: r.longRunning ? JAMEY_ROUTE_LONG_RUNNING : 0,
                    method: keep(r.method), path: keep(r.path),
                    topic: keep(r.topic), scope: keep(r.scope), summary: keep(r.summary),
                    operation_id: r.operationID.map(keep), request_schema: r.requestSchema.map(keep),
                    response_schema: r.responseSchema.map(keep), description: r.details.map(keep)))
        }
        return p
    }

    private static func fields(_ keys: [ConfigKey]) -> UnsafeMutablePointer<jamey_config_field>? {
        guard !keys.isEmpty else { return nil }
        let p = UnsafeMutablePointer<jamey_config_field>.allocate(capacity: keys.count)
        for (i, k) in keys.enumerated() {
            var f = jamey_config_field()
            f.struct_size = UInt32(MemoryLayout<jamey_config_field>.size)
            f.type = k.type.rawValue
            f.key = keep(k.key)
            f.flags = k.flags
            f.default_value = k.defaultValue.map(keep)
            f.min = k.min
            f.max = k.max
            f.description = k.help.map(keep)
            if let allowed = k.allowed {
                let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: allowed.count + 1)
                for (j, v) in allowed.enumerated() { list[j] = keep(v) }
                list[allowed.count] = nil
                f.allowed_values = UnsafePointer(list)
            }
            f.fields = UnsafePointer(fields(k.fields))
            f.field_count = k.fields.count
            p.advanced(by: i).initialize(to: f)
        }
        return p
    }
}
