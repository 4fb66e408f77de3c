#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// C copies of strings and arrays that live for one host call (the callee's ownership rule:
/// "valid during the callback only"), freed together when the arena is released.
final class CStringArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    /// A NUL-terminated copy of `text`.
    func string(_ text: String) -> UnsafePointer<CChar> {
        let copy = strdup(text) ?? strdup("")!
        allocations.append(UnsafeMutableRawPointer(copy))
        return UnsafePointer(copy)
    }

    /// A copy of `text`, or NULL when it is nil.
    func optional(_ text: String?) -> UnsafePointer<CChar>? {
        guard let text else { return nil }
        let copy: UnsafePointer<CChar> = string(text)
        return copy
    }

    /// A C array holding `items` (plain C structs), or NULL when empty.
    func array<T>(_ items: [T]) -> UnsafePointer<T>? {
        guard !items.isEmpty, let raw = malloc(MemoryLayout<T>.stride * items.count) else { return nil }
        allocations.append(raw)
        let typed = raw.bindMemory(to: T.self, capacity: items.count)
        typed.initialize(from: items, count: items.count)
        return UnsafePointer(typed)
    }

    /// A C copy of one value.
    func value<T>(_ item: T) -> UnsafePointer<T>? { array([item]) }

    deinit {
        for pointer in allocations { free(pointer) }
    }
}
