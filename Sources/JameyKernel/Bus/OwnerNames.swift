import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Endpoint owners' names as C strings that live as long as the process, so that a compact
/// record (``CompactRing``) can carry its publisher's name as a pointer. One copy per distinct
/// name: owners are plugin names, instance keys and `"kernel"`, a small set.
enum OwnerNames {
    private static let interned = Mutex<[String: UnsafeSendableCString]>([:])

    private struct UnsafeSendableCString: @unchecked Sendable {
        let pointer: UnsafePointer<CChar>
    }

    /// The interned C string of `name`.
    static func cString(_ name: String) -> UnsafePointer<CChar> {
        interned.withLock { names in
            if let known = names[name] { return known.pointer }
            let copy = UnsafePointer(strdup(name)!)
            names[name] = UnsafeSendableCString(pointer: copy)
            return copy
        }
    }
}
