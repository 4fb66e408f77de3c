/// One of the memory's layers. A struct over a fixed list rather than a public enum, so a later
/// layer breaks no `switch` in another plugin.
///
/// - `working`: the small current context (the consciousness workspace's broadcasts land here);
///   capacity-bounded, short-lived.
/// - `short_term`: recent items, bounded by a TTL and a capacity, oldest out.
/// - `episodic`: time-stamped events with importance and last access.
/// - `semantic`: consolidated, de-duplicated facts.
/// - `long_term`: kept until deleted.
public struct MemoryLayer: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The layer's name as it appears in JSON, config and metrics labels (`short_term`).
    public let name: String
    private let order: Int

    private init(_ name: String, _ order: Int) {
        self.name = name
        self.order = order
    }

    /// The small, capacity-bounded current context.
    public static let working = MemoryLayer("working", 0)
    /// Recent items, TTL- and capacity-bounded.
    public static let shortTerm = MemoryLayer("short_term", 1)
    /// Time-stamped events.
    public static let episodic = MemoryLayer("episodic", 2)
    /// Consolidated facts.
    public static let semantic = MemoryLayer("semantic", 3)
    /// Kept until deleted.
    public static let longTerm = MemoryLayer("long_term", 4)

    /// Every layer, from the most transient to the most durable.
    public static let all: [MemoryLayer] = [.working, .shortTerm, .episodic, .semantic, .longTerm]

    /// The layer called `name`, or nil when there is none.
    /// - Parameter name: a layer name such as `short_term`.
    public init?(name: String) {
        guard let layer = Self.all.first(where: { $0.name == name }) else { return nil }
        self = layer
    }

    /// The layer's name.
    public var description: String { name }

    /// Orders layers from the most transient to the most durable.
    public static func < (lhs: MemoryLayer, rhs: MemoryLayer) -> Bool { lhs.order < rhs.order }

    /// Every layer name, comma-separated, for error messages.
    public static var names: String { all.map(\.name).joined(separator: ", ") }
}
