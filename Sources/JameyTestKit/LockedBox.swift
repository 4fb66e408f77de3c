import Synchronization

/// A value behind a lock, shared between a test and the threads it watches (bus handlers,
/// libmosquitto callbacks, reader threads).
///
/// The compiler checks that it is `Sendable`: the value is `Sendable` and only reachable through
/// the lock. Modelled on swift-nio's `NIOLockedValueBox`.
///
/// ```swift
/// let seen = LockedBox<[BusMessage]>([])
/// _ = try k.bus.subscribe("a.b") { seen.append($0); return true }
/// #expect(await eventually { seen.count == 1 })
/// ```
public final class LockedBox<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    /// - Parameter value: the initial value.
    public init(_ value: Value) { storage = Mutex(value) }

    /// Runs `body` with the value, holding the lock; callable from any thread.
    /// - Parameter body: reads or changes the value; must not block or take this lock again.
    /// - Returns: what `body` returns.
    public func withLock<Result: Sendable, Failure: Error>(
        _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try storage.withLock { (value: inout sending Value) throws(Failure) -> sending Result in try body(&value) }
    }

    /// A copy of the value.
    public var value: Value { withLock { $0 } }

    /// Replaces the value.
    public func set(_ newValue: Value) { withLock { $0 = newValue } }
}

extension LockedBox where Value: RangeReplaceableCollection, Value.Element: Sendable {
    /// Appends `element` to the collection.
    public func append(_ element: Value.Element) { withLock { $0.append(element) } }

    /// How many elements the collection holds.
    public var count: Int { withLock { $0.count } }
}
