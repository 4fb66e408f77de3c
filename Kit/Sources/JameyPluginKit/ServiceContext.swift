import Synchronization

/// The `context` of a service table a Swift plugin registers: it reaches the plugin's provider
/// object while the plugin runs, and nothing after ``close()``.
///
/// A caller may keep a table for as long as it runs (tables are looked up once), so the context
/// pointer must stay valid for the life of the process; the provider it leads to must not, or
/// every restart of the plugin (a restore, a reload, a deploy) would keep the old instance's
/// databases, threads and memory for good. The context therefore holds the provider weakly in
/// effect: ``close()`` (from `stop`) lets it go, and a call afterwards finds no provider and
/// answers with the table's "unavailable" code. The context itself is a few bytes, kept.
///
/// ```swift
/// let context = ServiceContext(provider)
/// table.context = context.pointer
/// table.search = { context, ... in
///     guard let provider = ServiceContext<Provider>.provider(at: context) else { return 503 }
///     ...
/// }
/// // in stop():
/// context.close()
/// ```
public final class ServiceContext<Provider: AnyObject & Sendable>: Sendable {
    private let slot: Mutex<Provider?>

    /// A context leading to `provider` until ``close()``.
    public init(_ provider: Provider) { slot = Mutex(provider) }

    /// The pointer for the table's `context` member: this object, retained for the life of the
    /// process.
    public var pointer: UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    /// Lets the provider go: calls through the table find none from now on. A call in progress
    /// keeps its provider until it returns.
    public func close() { slot.withLock { $0 = nil } }

    /// The provider behind a table's `context`, nil after ``close()`` (or for a NULL context).
    public static func provider(at context: UnsafeRawPointer?) -> Provider? {
        guard let context else { return nil }
        return Unmanaged<ServiceContext>.fromOpaque(context).takeUnretainedValue().slot.withLock { $0 }
    }
}
