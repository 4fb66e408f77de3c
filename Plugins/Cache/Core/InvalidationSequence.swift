/// Follows the per-sender sequence numbers of invalidation messages, so a receiver notices when
/// it missed some (and must then drop what it holds, since it no longer knows what changed).
///
/// A sender is one run of one node (its numbers start at 1 each run). Not thread-safe.
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

    private var highest: [String: UInt64] = [:]

    public init() {}

    /// Records `sequence` from `sender`.
    public mutating func observe(sender: String, sequence: UInt64) -> Observation {
        guard let last = highest[sender] else {
            highest[sender] = sequence
            return sequence <= 1 ? .inOrder : .first
        }
        if sequence <= last { return .repeated }
        highest[sender] = sequence
        return sequence == last + 1 ? .inOrder : .gap(missed: sequence - last - 1)
    }

    /// Senders followed.
    public var senders: Int { highest.count }
}
