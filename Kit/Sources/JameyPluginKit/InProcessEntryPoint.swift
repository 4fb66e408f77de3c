import CJameyABI
import Synchronization

/// The C entry point's type (`jamey_plugin_register_fn`): what `dlsym` finds for
/// `jamey_plugin_register` in a plugin library.
public typealias JameyEntryPoint = @convention(c) (JameyRegistration?) -> JameyDescriptor?

/// An entry point for `plugin` that a kernel in this same process can load without building or
/// `dlopen`-ing a library, for fast tests of a plugin's logic (JameyTestKit's
/// `TestKernel.boot(inProcess:)`).
///
/// ```swift
/// let k = try TestKernel.boot(inProcess: [.init("greeter", entryPoint: try inProcessEntryPoint(for: Greeter.self))])
/// ```
///
/// The plugin still meets the kernel only through the C ABI: the kernel calls the entry point,
/// checks the descriptor and calls the hooks exactly as for a library. What differs is the image:
/// in-process, the plugin shares the kit, swift-log and swift-metrics with the host, where a
/// loaded library has its own copies. So the kit leaves the image-wide `LoggingSystem` and
/// `MetricsSystem` to the host (log and record through `context.logger` and `context.metrics`),
/// and a type made on one side *is* the same type on the other, which hides mistakes the real
/// path would show. Loading the built library with `dlopen` stays the real path; test there too.
///
/// Calling it again for the same type returns the same entry point; several kernels in one
/// process may load it at once (each gets its own instance). A process has room for
/// ``inProcessEntryPointCapacity`` plugin types.
///
/// - Parameter plugin: the plugin type.
/// - Returns: a C function the kernel calls as it would call `jamey_plugin_register`.
/// - Throws: ``JameyError`` with code `.full` when every entry point is taken.
public func inProcessEntryPoint<P: JameyPlugin>(for plugin: P.Type) throws(JameyError) -> JameyEntryPoint {
    try InProcessExports.shared.entryPoint(for: P.self)
}

/// How many plugin types one process can export with ``inProcessEntryPoint(for:)``.
public var inProcessEntryPointCapacity: Int { InProcessExports.entryPoints.count }

/// The plugin types exported in-process, one slot each. A C function cannot capture which type it
/// is for, so each slot has its own entry point, init and check hooks (``entryPoints``, ``initHooks``, ``checkHooks``),
/// which look the slot up here.
final class InProcessExports: Sendable {
    static let shared = InProcessExports()

    /// One exported plugin type.
    private struct Slot: @unchecked Sendable {
        let type: ObjectIdentifier
        let factory: PluginFactory
        var api: UnsafePointer<jamey_host_api>?
        var descriptor: UnsafeMutablePointer<jamey_plugin_descriptor>?
    }

    private let slots = Mutex<[Slot]>([])

    func entryPoint<P: JameyPlugin>(for type: P.Type) throws(JameyError) -> JameyEntryPoint {
        let id = ObjectIdentifier(type)
        let index: Int? = slots.withLock { slots in
            if let existing = slots.firstIndex(where: { $0.type == id }) { return existing }
            guard slots.count < Self.entryPoints.count else { return nil }
            slots.append(Slot(type: id, factory: PluginFactory(P.self)))
            return slots.count - 1
        }
        guard let index else {
            throw JameyError(
                .full,
                "no in-process entry point left for \(P.self): this process already exports \(Self.entryPoints.count) plugin types in-process"
            )
        }
        return Self.entryPoints[index]
    }

    /// The entry point of slot `index`: refuses another ABI major, else builds the descriptor once.
    func register(_ index: Int, _ registration: JameyRegistration?) -> JameyDescriptor? {
        guard let registration, registration.pointee.host_abi_major == UInt16(JAMEY_ABI_MAJOR),
            let api = registration.pointee.api
        else { return nil }
        return slots.withLock { slots -> JameyDescriptor? in
            guard slots.indices.contains(index) else { return nil }
            slots[index].api = api
            if let descriptor = slots[index].descriptor { return UnsafePointer(descriptor) }
            let descriptor = DescriptorBuilder.build(
                slots[index].factory, initHook: Self.initHooks[index], checkHook: Self.checkHooks[index])
            slots[index].descriptor = descriptor
            return UnsafePointer(descriptor)
        }
    }

    /// The init hook of slot `index`.
    func initialize(
        _ index: Int, _ host: OpaquePointer?, _ json: UnsafePointer<CChar>?, _ length: Int,
        _ stateOut: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ err: UnsafeMutablePointer<CChar>?, _ cap: Int
    ) -> Int32 {
        let slot = slots.withLock { slots in slots.indices.contains(index) ? slots[index] : nil }
        return KitHooks.initialize(slot?.factory, api: slot?.api, ownsImage: false, host, json, length, stateOut, err, cap)
    }

    static let entryPoints: [JameyEntryPoint] = [
        { shared.register(0, $0) }, { shared.register(1, $0) }, { shared.register(2, $0) }, { shared.register(3, $0) },
        { shared.register(4, $0) }, { shared.register(5, $0) }, { shared.register(6, $0) }, { shared.register(7, $0) },
    ]

    /// The check hook of slot `index`.
    func check(_ index: Int, _ json: UnsafePointer<CChar>?, _ length: Int, _ err: UnsafeMutablePointer<CChar>?, _ cap: Int)
        -> Int32
    {
        let slot = slots.withLock { slots in slots.indices.contains(index) ? slots[index] : nil }
        return KitHooks.check(slot?.factory, json, length, err, cap)
    }

    static let checkHooks: [jamey_plugin_check_fn] = [
        { shared.check(0, $1, $2, $3, $4) }, { shared.check(1, $1, $2, $3, $4) }, { shared.check(2, $1, $2, $3, $4) },
        { shared.check(3, $1, $2, $3, $4) }, { shared.check(4, $1, $2, $3, $4) }, { shared.check(5, $1, $2, $3, $4) },
        { shared.check(6, $1, $2, $3, $4) }, { shared.check(7, $1, $2, $3, $4) },
    ]

    static let initHooks: [jamey_plugin_init_fn] = [
        { shared.initialize(0, $0, $1, $2, $3, $4, $5) }, { shared.initialize(1, $0, $1, $2, $3, $4, $5) },
        { shared.initialize(2, $0, $1, $2, $3, $4, $5) }, { shared.initialize(3, $0, $1, $2, $3, $4, $5) },
        { shared.initialize(4, $0, $1, $2, $3, $4, $5) }, { shared.initialize(5, $0, $1, $2, $3, $4, $5) },
        { shared.initialize(6, $0, $1, $2, $3, $4, $5) }, { shared.initialize(7, $0, $1, $2, $3, $4, $5) },
    ]
}
