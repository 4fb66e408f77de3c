import CJameyABI

/// The service registry: named, versioned C function tables shared between plugins.
///
/// A table is a C struct of function pointers (declared in a C header both sides include) whose
/// first field is `uint32_t struct_size`. Look a table up once and keep it: calls through it cost
/// one indirect call.
public final class PluginServices: Sendable {
    let handle: HostHandle
    init(handle: HostHandle) { self.handle = handle }

    /// Registers `table` under `name` at `version`. The kit copies it into memory that lives as
    /// long as the process, so the caller's value may go away.
    /// - Throws: ``JameyError`` with code `.exists` when the name is taken, `.invalid` when it is invalid.
    public func register<Table>(_ name: String, version: String, table: Table) throws(JameyError) {
        let stored = UnsafeMutablePointer<Table>.allocate(capacity: 1)
        stored.initialize(to: table)
        let code = handle.api.pointee.service_register(handle.host, name, version, stored, MemoryLayout<Table>.size)
        guard code == JAMEY_OK else {
            stored.deinitialize(count: 1)
            stored.deallocate()
            let kind = JameyError.Code(abiValue: code)
            throw JameyError(
                kind,
                kind == .exists
                    ? "service '\(name)' is already registered"
                    : "service '\(name)' \(version) could not be registered (\(kind))")
        }
    }

    /// Withdraws a service this plugin registered.
    public func unregister(_ name: String) {
        _ = handle.api.pointee.service_unregister(handle.host, name)
    }

    /// Looks up a service and returns a handle holding a copy of its table.
    /// - Parameters:
    ///   - name: the service name.
    ///   - versions: accepted version range (`"^1.0"`).
    ///   - type: the C table type; the registered table must be at least this large.
    /// - Throws: ``JameyError`` with code `.notFound` when missing, `.version` when of another version
    ///   or smaller than `Table`.
    public func lookup<Table>(_ name: String, versions: String = "*", as type: Table.Type) throws(JameyError)
        -> ServiceHandle<Table>
    {
        var table: UnsafeRawPointer? = nil
        var size = 0
        let code = handle.api.pointee.service_lookup(handle.host, name, versions, &table, &size)
        if code != JAMEY_OK {
            let kind = JameyError.Code(abiValue: code)
            switch kind {
            case .notFound: throw JameyError(kind, "service '\(name)' is not registered")
            case .version: throw JameyError(kind, "service '\(name)' is registered, but not in versions \(versions)")
            default: throw JameyError(kind, "service '\(name)' lookup failed (\(kind))")
            }
        }
        guard let table, size >= MemoryLayout<Table>.size else {
            throw JameyError(
                .version,
                "service '\(name)' table is \(size) bytes, smaller than \(Table.self) (\(MemoryLayout<Table>.size) bytes)")
        }
        return ServiceHandle(table: table.loadUnaligned(as: Table.self))
    }
}

/// A looked-up service table. Service tables are immutable and their functions thread-safe by
/// the ABI's contract, so the handle can be kept in a `Sendable` plugin and used from any thread.
public struct ServiceHandle<Table>: @unchecked Sendable {
    /// The C function table.
    public let table: Table
}
