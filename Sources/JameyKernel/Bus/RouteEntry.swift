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
    /// The same, unretained (``subscriptions`` keeps them alive): the compact publish path
    /// borrows them without reference counting.
    let unmanagedSubscriptions: [Unmanaged<Subscription>]
    /// Who answers requests: the matching subscriptions declared as responders, or, when none
    /// is, every matching subscription (so a plain subscriber can still answer).
    private let responders: [Subscription]
    private let cursor = Atomic<Int>(0)
    /// A canary's split of the subscriptions, when two instances of one plugin match (see
    /// ``TrafficSplit``); nil on every other route.
    let split: TrafficSplit?
    /// With a split: the responders of each side (the stable side also holds other owners').
    private let sideResponders: [TrafficSplit.Side: [Subscription]]
    /// Whether an event given as C bytes can reach every matching subscription without a
    /// ``BusMessage`` (see ``BusEndpoint/publishCompact(topic:payload:)``): no split, and only
    /// C handlers.
    let takesCompact: Bool
    /// ``takesCompact``, and none of the subscriptions is direct: publishing calls no handler.
    let queuesCompactOnly: Bool

    init(generation: UInt64, subscriptions: [Subscription], splits: [String: TrafficSplit] = [:]) {
        self.generation = generation
        self.subscriptions = subscriptions
        self.unmanagedSubscriptions = subscriptions.map { .passUnretained($0) }
        let declared = subscriptions.filter(\.isResponder)
        self.responders = declared.isEmpty ? subscriptions.filter { !$0.isEventsOnly } : declared
        let split = splits.isEmpty ? nil : subscriptions.lazy.compactMap { splits[$0.owner] }.first
        self.split = split
        self.takesCompact =
            split == nil
            && subscriptions.allSatisfy(\.handler.takesABI)
        self.queuesCompactOnly = takesCompact && !subscriptions.contains(where: \.isDirect)
        if let split {
            let canary = responders.filter { $0.owner == split.canary }
            sideResponders = [.canary: canary, .stable: responders.filter { $0.owner != split.canary }]
        } else {
            sideResponders = [:]
        }
    }

    /// Whether `subscription` takes an event that the split sent to `side`.
    @inline(__always)
    func accepts(_ subscription: Subscription, side: TrafficSplit.Side, split: TrafficSplit) -> Bool {
        guard let owner = split.side(of: subscription.owner) else { return true }
        return owner == side
    }

    /// The responder for `message`: with a split, one of the side the split chooses (the other
    /// side's when that one has none), round-robin within it; otherwise ``nextResponder()``.
    func nextResponder(for message: BusMessage) -> (Subscription, TrafficSplit.Side?)? {
        guard let split else { return nextResponder().map { ($0, nil) } }
        var side = split.side(for: message)
        if sideResponders[side]?.isEmpty ?? true { side = side == .canary ? .stable : .canary }
        guard let list = sideResponders[side], !list.isEmpty else { return nil }
        let turn = list.count == 1 ? 0 : cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        return (list[Int(UInt(bitPattern: turn) % UInt(list.count))], side)
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
