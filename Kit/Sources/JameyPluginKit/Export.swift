import CJameyABI
import Dispatch
import Foundation
import Synchronization

/// The argument of the exported entry point (a pointer to `jamey_registration`).
public typealias JameyRegistration = UnsafePointer<jamey_registration>
/// The result of the exported entry point (a pointer to `jamey_plugin_descriptor`).
public typealias JameyDescriptor = UnsafePointer<jamey_plugin_descriptor>

/// Builds the C descriptor for `plugin` and hooks it up. Call it from the one exported entry point:
///
/// ```swift
/// @_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? { export(MyPlugin.self, r) }
/// ```
///
/// Does no work beyond building the descriptor once (the kernel also calls the entry point just
/// to inspect a library). Returns nil, refusing the host, when the host's ABI major differs.
public func export<P: JameyPlugin>(_ plugin: P.Type, _ registration: JameyRegistration?) -> JameyDescriptor? {
    guard let registration, registration.pointee.host_abi_major == UInt16(JAMEY_ABI_MAJOR),
        let api = registration.pointee.api
    else { return nil }
    return PluginExport.shared.descriptor(api: api) { PluginFactory(P.self) }
}

/// Type-erased construction and hooks of the one plugin type this image exports.
struct PluginFactory: Sendable {
    let manifest: PluginManifest
    let make: @Sendable (PluginContext, Data) async throws -> any JameyPlugin
    let snapshot: (@Sendable (any JameyPlugin, String) async throws -> Void)?
    let restore: (@Sendable (any JameyPlugin, String) async throws -> Void)?
    let reconfigure: (@Sendable (any JameyPlugin, Data) async throws -> Void)?
    /// ``HandOverCapable``'s two halves; nil when the type does not conform.
    let handOver: (@Sendable (any JameyPlugin, String) async throws -> Void)?
    let takeOver: (@Sendable (any JameyPlugin, String) async throws -> Void)?
    /// The problems ``ConfigurationChecking`` finds in a section (the `check` hook); nil when the
    /// type does not conform.
    let check: (@Sendable (Data) -> [String])?

    init<P: JameyPlugin>(_ type: P.Type) {
        manifest = P.manifest
        let check: (@Sendable (Data) -> [String])? =
            if let checking = P.self as? any ConfigurationChecking.Type { Self.checker(checking) } else { nil }
        self.check = check
        make = { context, json in
            let configuration = try Self.decode(P.self, json)
            if let problems = check?(json), !problems.isEmpty { throw JameyError(.invalid, problems.joined(separator: "; ")) }
            return try await P(context: context, configuration: configuration)
        }
        if let reconfiguring = P.self as? any Reconfigurable.Type {
            reconfigure = Self.reconfigurer(reconfiguring)
        } else {
            reconfigure = nil
        }
        if let handing = P.self as? any HandOverCapable.Type {
            (handOver, takeOver) = Self.handers(handing)
        } else {
            (handOver, takeOver) = (nil, nil)
        }
        if let snapshotting = P.self as? any SnapshotCapable.Type {
            snapshot = Self.snapshotter(snapshotting)
            restore = Self.restorer(snapshotting)
        } else {
            snapshot = nil
            restore = nil
        }
    }

    /// The plugin's configuration decoded from the kernel's JSON (snake_case keys).
    static func decode<T: JameyPlugin>(_: T.Type, _ json: Data) throws -> T.Configuration {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(T.Configuration.self, from: json)
        } catch {
            throw JameyError(.invalid, "config section does not match \(T.Configuration.self): \(error.readable)")
        }
    }

    /// A section's problems: the decoding error as one, else what the type's check finds.
    private static func checker<C: ConfigurationChecking>(_: C.Type) -> @Sendable (Data) -> [String] {
        { json in
            do {
                return C.problems(in: try decode(C.self, json))
            } catch {
                return [error.readable]
            }
        }
    }

    private static func reconfigurer<R: Reconfigurable>(_: R.Type) -> @Sendable (any JameyPlugin, Data) async throws -> Void {
        { plugin, json in try await (plugin as! R).reconfigure(try decode(R.self, json)) }
    }

    private static func snapshotter<S: SnapshotCapable>(_: S.Type) -> @Sendable (any JameyPlugin, String) async throws -> Void {
        { plugin, dir in try await (plugin as! S).snapshot(to: dir) }
    }

    private static func handers<H: HandOverCapable>(_: H.Type) -> (
        @Sendable (any JameyPlugin, String) async throws -> Void, @Sendable (any JameyPlugin, String) async throws -> Void
    ) {
        (
            { plugin, dir in try await (plugin as! H).handOver(to: dir) },
            { plugin, dir in try await (plugin as! H).takeOver(from: dir) }
        )
    }

    private static func restorer<S: SnapshotCapable>(_: S.Type) -> @Sendable (any JameyPlugin, String) async throws -> Void {
        { plugin, dir in try await (plugin as! S).restore(from: dir) }
    }
}

/// The image-wide export state: the host table and the descriptor, built once.
final class PluginExport: @unchecked Sendable {
    static let shared = PluginExport()
    private let lock = Mutex<Void>(())
    private(set) var api: UnsafePointer<jamey_host_api>?
    private(set) var factory: PluginFactory?
    private var descriptor: UnsafeMutablePointer<jamey_plugin_descriptor>?

    func descriptor(api: UnsafePointer<jamey_host_api>, _ make: () -> PluginFactory) -> JameyDescriptor {
        lock.withLock { _ in
            self.api = api
            if let descriptor { return UnsafePointer(descriptor) }
            let factory = make()
            self.factory = factory
            let d = DescriptorBuilder.build(factory)
            descriptor = d
            return UnsafePointer(d)
        }
    }
}

/// What the C state pointer holds: the plugin instance, its context and the factory that made it.
final class PluginBox: @unchecked Sendable {
    let plugin: any JameyPlugin
    let context: PluginContext
    let factory: PluginFactory
    init(plugin: any JameyPlugin, context: PluginContext, factory: PluginFactory) {
        self.plugin = plugin
        self.context = context
        self.factory = factory
    }
}

/// Runs async work to completion from a thread that may block (kernel lifecycle threads), on the
/// kit's own executor thread so it never waits for a free Swift concurrency pool thread.
func runBlocking<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<Result<T, any Error>?>(nil)
    Task(executorPreference: PluginExecutor.shared) {
        let r: Result<T, any Error>
        do { r = .success(try await operation()) } catch { r = .failure(error) }
        result.withLock { $0 = r }
        done.signal()
    }
    done.wait()
    return result.withLock { $0! }
}

/// Writes `message` into a C error buffer, truncated at a UTF-8 boundary.
func writeError(_ message: String, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) {
    guard let buffer, capacity > 0 else { return }
    var bytes = Array(message.utf8)
    if bytes.count > capacity - 1 {
        bytes = Array(bytes.prefix(capacity - 1))
        while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
        if let last = bytes.last, last >= 0xC0 { bytes.removeLast() }
    }
    for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
    buffer[bytes.count] = 0
}

extension Error {
    /// A description without Swift's type-dump noise, for error buffers and logs.
    var readable: String {
        if let e = self as? JameyError { return e.message }
        if let e = self as? DecodingError {
            switch e {
            case .keyNotFound(let key, let ctx): return "missing key '\(path(ctx.codingPath + [key]))'"
            case .typeMismatch(let type, let ctx): return "'\(path(ctx.codingPath))' is not a \(type)"
            case .valueNotFound(let type, let ctx): return "'\(path(ctx.codingPath))' has no \(type) value"
            case .dataCorrupted(let ctx): return "data corrupted at '\(path(ctx.codingPath))': \(ctx.debugDescription)"
            @unknown default: return "\(e)"
            }
        }
        return String(describing: self)
    }

    private func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
