import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The thread-specific key that marks a thread as one of a bus's own threads.
private let busThreadKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// The one way the kernel starts a thread of its own (bus workers, the request timer, the log
/// writer): a detached, named pthread. Also tells whether the calling thread is one a bus
/// component marked as its own.
enum KernelThread {
    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts a detached thread that runs `body`.
    /// - Parameters:
    ///   - name: The thread name shown by `top -H` and debuggers (cut to 15 bytes).
    ///   - body: What the thread runs; the thread ends when it returns.
    static func spawn(name: String, _ body: @escaping @Sendable () -> Void) {
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let result = pthread_create(
            &thread, &attributes,
            { context in
                let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
                Thread.current.name = String(start.name.utf8.prefix(15)) ?? "jamey"
                start.body()
                return nil
            }, start)
        pthread_attr_destroy(&attributes)
        precondition(result == 0, "jamey: cannot start thread \(name): pthread_create returned \(result)")
    }

    /// Marks the calling thread as belonging to the bus component identified by `owner`.
    static func markCurrent(owner: UnsafeRawPointer) {
        pthread_setspecific(busThreadKey, owner)
    }

    /// Whether the calling thread was marked with `owner`.
    @inline(__always)
    static func isCurrent(owner: UnsafeRawPointer) -> Bool {
        pthread_getspecific(busThreadKey) == UnsafeMutableRawPointer(mutating: owner)
    }

    /// The calling thread's id.
    @inline(__always)
    static var current: pthread_t { pthread_self() }

    /// Runs `body` with the calling thread marked as inside a plugin's `request` call (one without
    /// `JAMEY_REQUEST_DONE_ANY_THREAD`): a reply arriving on this thread meanwhile (a direct
    /// responder answering at once) must not run the requester's `done` here, inside its own
    /// call, where it may hold a lock its `done` takes.
    static func insideRequestCall<R>(_ body: () throws(BusError) -> R) throws(BusError) -> R {
        let outer = pthread_getspecific(requestCallKey)
        pthread_setspecific(requestCallKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(requestCallKey, outer) }
        return try body()
    }

    /// Whether the calling thread is inside ``insideRequestCall(_:)``.
    @inline(__always)
    static var isInsideRequestCall: Bool { pthread_getspecific(requestCallKey) != nil }
}

private let requestCallKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()
