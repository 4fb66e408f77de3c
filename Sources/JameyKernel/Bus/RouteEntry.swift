import Synchronization

/// The subscriptions matching one concrete topic, as of one route-table generation.
///
/// Publishers share the entry (no per-message list allocation); requests pick responders from
/// it round-robin through `cursor`.
final class RouteEntry: Sendable {
    /// The route-table generation the entry was computed at.
    let generation: UInt64
    /// The matching subscriptions, oldest first.
    let subscriptions: [Subscription]
    /// Who answers requests: the matching subscriptions declared as responders, or, when none
    /// is, every matching subscription (so a plain subscriber can still answer).
    private let responders: [Subscription]
    private let cursor = Atomic<Int>(0)

    init(generation: UInt64, subscriptions: [Subscription]) {
        self.generation = generation
        self.subscriptions = subscriptions
        let declared = subscriptions.filter(\.isResponder)
        self.responders = declared.isEmpty ? subscriptions : declared
    }

    /// The next responder in round-robin order, or `nil` when nothing matches. Passive
    /// subscriptions (event listeners on a wildcard) never take a request from a declared
    /// responder.
    func nextResponder() -> Subscription? {
        switch responders.count {
        case 0: return nil
        case 1: return responders[0]
        default:
            let turn = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
            return responders[Int(UInt(bitPattern: turn) % UInt(responders.count))]
        }
    }
}
