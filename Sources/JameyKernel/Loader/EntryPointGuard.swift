import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Refuses host calls a plugin makes from its entry point (`jamey_plugin_register`), which the
/// header forbids: the kernel has not checked the plugin yet and has given it no context. The
/// calls are refused (the host function returns its failure value) and remembered, so the loader
/// can log them with the plugin's name and file.
enum EntryPointGuard {
    /// How many threads are inside an entry point right now; host functions look at it first
    /// (one relaxed atomic load per host call).
    private static let active = Atomic<Int>(0)
    /// The host functions each registering thread called, by thread.
    private static let calls = Mutex<[UInt: [String]]>([:])

    /// Whether any thread is running an entry point.
    @inline(__always)
    static var isActive: Bool { active.load(ordering: .relaxed) > 0 }

    /// Runs `register` with the calling thread marked as running an entry point.
    /// - Returns: its result and the names of the host functions it tried to call.
    static func registering<R>(_ register: () -> R) -> (R, [String]) {
        let thread = UInt(bitPattern: Int(bitPattern: UInt(pthread_self())))
        calls.withLock { $0[thread] = [] }
        active.add(1, ordering: .sequentiallyConsistent)
        let result = register()
        active.subtract(1, ordering: .sequentiallyConsistent)
        let made = calls.withLock { $0.removeValue(forKey: thread) } ?? []
        return (result, made)
    }

    /// Called by host functions while ``isActive``: records and refuses the call when the calling
    /// thread is running an entry point.
    /// - Returns: true when the call must be refused.
    static func refuse(_ function: StaticString) -> Bool {
        let thread = UInt(bitPattern: Int(bitPattern: UInt(pthread_self())))
        return calls.withLock { calls in
            guard calls[thread] != nil else { return false }
            calls[thread]!.append(function.description)
            return true
        }
    }
}
