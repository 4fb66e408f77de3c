/// The identity of one bus instance: its address marks the bus's own threads (workers and the
/// timer), so the bus can tell whether it is being called from one of them.
final class BusIdentity: Sendable {
    /// The address used as the thread mark.
    var pointer: UnsafeRawPointer { UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// Whether the calling thread is one of this bus's threads.
    @inline(__always)
    var isCurrentThread: Bool { KernelThread.isCurrent(owner: pointer) }
}
