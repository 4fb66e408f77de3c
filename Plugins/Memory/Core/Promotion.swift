/// Which layer a consolidation run moves an item to, if any.
///
/// Rules, checked in order (documented defaults):
/// 1. `short_term` or `episodic` with importance ≥ ``longTermImportance`` (0.9) → `long_term`;
/// 2. `episodic` retrieved at least ``semanticAccesses`` (5) times → `semantic`;
/// 3. `short_term` retrieved at least ``episodicAccesses`` (3) times, or with importance ≥
///    ``episodicImportance`` (0.7) → `episodic`.
///
/// `working`, `semantic` and `long_term` items stay where they are. A promoted item gets the TTL
/// of its new layer counted from the promotion.
public struct Promotion: Sendable, Equatable {
    /// Importance that sends a short-term or episodic item to long-term.
    public var longTermImportance: Double
    /// Retrievals that send an episodic item to semantic.
    public var semanticAccesses: Int
    /// Retrievals that send a short-term item to episodic.
    public var episodicAccesses: Int
    /// Importance that sends a short-term item to episodic.
    public var episodicImportance: Double

    /// - Parameters: the thresholds, see the properties.
    public init(
        longTermImportance: Double = 0.9, semanticAccesses: Int = 5, episodicAccesses: Int = 3,
        episodicImportance: Double = 0.7
    ) {
        self.longTermImportance = longTermImportance
        self.semanticAccesses = semanticAccesses
        self.episodicAccesses = episodicAccesses
        self.episodicImportance = episodicImportance
    }

    /// Every move ``target(for:)`` can make, `(from, to)`.
    public static let moves: [(from: MemoryLayer, to: MemoryLayer)] = [
        (.shortTerm, .episodic), (.shortTerm, .longTerm), (.episodic, .semantic), (.episodic, .longTerm),
    ]

    /// The layer `item` moves to, or nil to stay.
    /// - Parameter item: an item.
    public func target(for item: MemoryItem) -> MemoryLayer? {
        switch item.layer {
        case .shortTerm, .episodic:
            if item.importance >= longTermImportance { return .longTerm }
            if item.layer == .episodic { return item.accessCount >= semanticAccesses ? .semantic : nil }
            if item.accessCount >= episodicAccesses || item.importance >= episodicImportance { return .episodic }
            return nil
        default:
            return nil
        }
    }
}
