import CJameyABI
import Synchronization

/// A kernel subscription made for a subscription of an isolated plugin: its handler sends what
/// arrives to the child. It outlives the child that made it, answering 503 to requests until the
/// next child makes the same subscription again.
final class ProxySubscription: Sendable {
    unowned let supervisor: PluginSupervisor
    let pattern: String
    let flags: UInt32
    /// A responder's proxy is direct: the requester's thread writes the request to the child and
    /// waits a moment for the reply itself (``PluginSupervisor/awaitReply(_:from:)``).
    var waitsForReplies: Bool { flags & JAMEY_SUBSCRIBE_RESPONDER != 0 }
    /// How long the child's replies have taken lately (ns, a moving average of what the
    /// requesters' threads saw waiting); a requester's thread waits only while they come quickly.
    private let replyEstimate = Atomic<UInt64>(0)
    private let requestsSeen = Atomic<UInt64>(0)

    /// Whether a requester's thread should wait for the reply itself: yes while replies come
    /// within the wait, and for one request in 16 otherwise (to notice when they do again).
    func worthWaiting(within limit: UInt64) -> Bool {
        replyEstimate.load(ordering: .relaxed) < limit || requestsSeen.add(1, ordering: .relaxed).newValue % 16 == 0
    }

    /// Records how long a reply took (`nil`: not within the wait).
    func recordReply(after nanoseconds: UInt64?, limit: UInt64) {
        let sample = nanoseconds ?? 2 * limit
        let old = replyEstimate.load(ordering: .relaxed)
        replyEstimate.store(old - old / 8 + sample / 8, ordering: .relaxed)
    }

    /// The kernel's subscription id (set once the kernel has made it).
    var kernelID: UInt64 { kernelIDStore.load(ordering: .acquiring) }
    let kernelIDStore = Atomic<UInt64>(0)
    /// The runner's id and the run it belongs to, packed in one atomic: (generation << 40) | id.
    private let binding: Atomic<UInt64>

    init(supervisor: PluginSupervisor, pattern: String, flags: UInt32, runnerID: UInt64, generation: Int) {
        self.supervisor = supervisor
        self.pattern = pattern
        self.flags = flags
        self.binding = Atomic(Self.pack(runnerID, generation))
    }

    private static func pack(_ id: UInt64, _ generation: Int) -> UInt64 { UInt64(generation) << 40 | (id & 0xff_ffff_ffff) }

    /// The runner's id and run this subscription now serves.
    var bound: (runnerID: UInt64, generation: Int) {
        let value = binding.load(ordering: .acquiring)
        return (value & 0xff_ffff_ffff, Int(value >> 40))
    }

    /// Hands this subscription to a new run's subscription `runnerID`.
    func rebind(runnerID: UInt64, generation: Int) { binding.store(Self.pack(runnerID, generation), ordering: .releasing) }

    /// The C handler the kernel's bus calls; `userData` is the unretained subscription.
    static let handler: jamey_message_handler_fn = { userData, message in
        guard let userData, let message else { return JAMEY_E_INVALID }
        let subscription = Unmanaged<ProxySubscription>.fromOpaque(userData).takeUnretainedValue()
        return subscription.supervisor.deliver(message, to: subscription)
    }
}
