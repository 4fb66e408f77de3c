/// Follows the per-sender sequence numbers of invalidation messages, so a receiver notices when
/// it missed some (and must then drop what it holds, since it no longer knows what changed).
///
/// A sender is one run of one node (its numbers start at 1 each run). At most ``limit`` senders
/// are followed: past it the quarter heard from least recently is forgotten (runs of nodes since
/// restarted, which never send again; every restart of a peer added one for good, and so did
/// every made-up run a client published). A forgotten sender heard again starts over as `first`.
/// Not thread-safe.
public struct InvalidationSequence: Sendable {
    /// What one message's number says about the messages before it.
    public enum Observation: Equatable, Sendable {
        /// The first message seen from this sender: nothing is known about earlier ones.
        case first
        /// The next number: nothing was missed.
        case inOrder
        /// A number already seen (a redelivery or an older message): harmless to apply again.
        case repeated
        /// `missed` numbers were skipped: those invalidations never arrived.
        case gap(missed: UInt64)
    }

    /// Each sender's highest number and when it was last heard (a count of observations).
    private var highest: [String: (sequence: UInt64, heard: UInt64)] = [:]
    private var clock: UInt64 = 0
    /// The most senders followed.
    public let limit: Int

    public init(limit: Int = 4096) { self.limit = max(4, limit) }

    /// Records `sequence` from `sender`.
    public mutating func observe(sender: String, sequence: UInt64) -> Observation {
        clock &+= 1
        guard let last = highest[sender]?.sequence else {
            if highest.count >= limit { forgetLeastRecent() }
            highest[sender] = (sequence, clock)
            return sequence <= 1 ? .inOrder : .first
        }
        if sequence <= last {
            highest[sender]?.heard = clock
            return .repeated
        }
        highest[sender] = (sequence, clock)
        return sequence == last + 1 ? .inOrder : .gap(missed: sequence - last - 1)
    }

    /// Forgets the quarter of the senders heard from least recently.
    private mutating func forgetLeastRecent() {
        let cutoff = highest.values.map(\.heard).sorted()[highest.count / 4]
        highest = highest.filter { $0.value.heard > cutoff }
    }

    /// Senders followed.
    public var senders: Int { highest.count }
}
