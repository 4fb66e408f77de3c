import CJameyABI
import Synchronization

/// Named, versioned C function tables that plugins register and look up.
///
/// Thread-safe. Lookups are meant to be done once (at init or start) and the table kept: calls
/// through it then cost one indirect call.
public final class ServiceRegistry: Sendable {
    /// A registered service.
    public struct Service: Sendable {
        /// The service name.
        public let name: String
        /// Its version.
        public let version: SemanticVersion
        /// The plugin that registered it.
        public let owner: String
        /// The instance of that plugin (its name, or `name@N` after a blue-green deploy).
        let instance: String
        let tableAddress: UInt
        /// Size of the table in bytes.
        public let size: Int
        var table: UnsafeRawPointer { UnsafeRawPointer(bitPattern: tableAddress)! }
    }

    /// Why a lookup failed, as the ABI's return code.
    struct LookupFailure: Error {
        let rawValue: Int32
    }

    /// Each name's registrations, the one lookups find last. A new instance of the same plugin
    /// (a blue-green deploy, a canary) registers beneath the one serving, whose table lookups
    /// keep finding until it stops (the deploy's swap, a canary's promotion); a new instance
    /// that goes (a rollback, a deploy that failed to start) takes only its own registration.
    private let services = Mutex([String: [Service]]())

    /// Creates an empty registry.
    public init() {}

    /// Registers a table. A name registered by another plugin is refused; one registered by
    /// another instance of the same plugin is shared when `takeOver` is set (the new instance of
    /// a blue-green deploy or a canary): the new table waits beneath the serving one, and
    /// lookups find it once the serving instance has stopped.
    func register(
        name: String, version: String, owner: String, instance: String? = nil, takeOver: Bool = false,
        table: UnsafeRawPointer, size: Int
    ) -> Int32 {
        guard !name.isEmpty, name.allSatisfy(Self.nameCharacters.contains), let v = SemanticVersion(version) else {
            return JAMEY_E_INVALID
        }
        let instance = instance ?? owner
        return services.withLock { s in
            let stack = s[name] ?? []
            if let existing = stack.last, !(takeOver && existing.owner == owner) { return JAMEY_E_EXISTS }
            var rest = stack.filter { $0.instance != instance }
            let service = Service(
                name: name, version: v, owner: owner, instance: instance, tableAddress: UInt(bitPattern: table), size: size)
            if takeOver, !rest.isEmpty { rest.insert(service, at: rest.count - 1) } else { rest.append(service) }
            s[name] = rest
            return JAMEY_OK
        }
    }

    func unregister(name: String, instance: String) -> Int32 {
        services.withLock { s in
            guard let stack = s[name], stack.contains(where: { $0.instance == instance }) else { return JAMEY_E_NOT_FOUND }
            let rest = stack.filter { $0.instance != instance }
            s[name] = rest.isEmpty ? nil : rest
            return JAMEY_OK
        }
    }

    /// Removes every service `instance` registered (when it stops); a registration it covered
    /// is found again.
    func unregisterAll(instance: String) {
        services.withLock { s in
            for (name, stack) in s where stack.contains(where: { $0.instance == instance }) {
                let rest = stack.filter { $0.instance != instance }
                s[name] = rest.isEmpty ? nil : rest
            }
        }
    }

    func lookup(name: String, range: String) -> Result<Service, LookupFailure> {
        guard let r = VersionRange(range) else { return .failure(LookupFailure(rawValue: JAMEY_E_INVALID)) }
        guard let service = services.withLock({ $0[name]?.last }) else {
            return .failure(LookupFailure(rawValue: JAMEY_E_NOT_FOUND))
        }
        guard r.contains(service.version) else { return .failure(LookupFailure(rawValue: JAMEY_E_VERSION)) }
        return .success(service)
    }

    /// `instance`'s registration of `name`, whether lookups find it now or not.
    func registration(named name: String, instance: String) -> Service? {
        services.withLock { $0[name]?.last { $0.instance == instance } }
    }

    /// The registered service called `name`, if any (the one lookups find).
    public func service(named name: String) -> Service? { services.withLock { $0[name]?.last } }

    /// Every registered service, by name (the one lookups find).
    public var all: [Service] { services.withLock { $0.values.compactMap(\.last).sorted { $0.name < $1.name } } }

    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789_.-")
}
