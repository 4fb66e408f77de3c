import Synchronization

/// A callback the store tells (the plugin's metrics, a test's hook), set or removed at any time
/// from any thread. The closure lives in a class of its own behind the lock, as everywhere else
/// in the project: a closure is never kept bare in a `Mutex`.
final class Hook<Value>: Sendable {
    private final class Call: Sendable {
        let body: @Sendable (Value) -> Void
        init(_ body: @escaping @Sendable (Value) -> Void) { self.body = body }
    }

    private let slot = Mutex<Call?>(nil)

    init() {}

    /// Sets the callback; nil removes it.
    func set(_ body: (@Sendable (Value) -> Void)?) {
        let call = body.map(Call.init)
        slot.withLock { $0 = call }
    }

    /// The callback set now, if any.
    var current: (@Sendable (Value) -> Void)? { slot.withLock { $0 }?.body }
}
