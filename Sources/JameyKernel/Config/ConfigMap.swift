/// A map from string keys to ``ConfigValue``s that remembers the order keys were inserted in.
///
/// Lookups are by hash; iteration, ``keys`` and JSON output follow insertion order. Two maps are
/// equal when they hold the same keys with equal values, whatever their order.
public struct ConfigMap: Sendable, Equatable {
    private var storage: [(key: String, value: ConfigValue)] = []
    private var index: [String: Int] = [:]

    /// Creates an empty map.
    public init() {}

    /// Creates a map from pairs in order. A repeated key keeps its first position and last value.
    ///
    /// - Parameter pairs: the entries, in order.
    public init(_ pairs: some Sequence<(String, ConfigValue)>) {
        for (key, value) in pairs { self[key] = value }
    }

    /// The entries in insertion order.
    public var entries: [(key: String, value: ConfigValue)] { storage }

    /// The keys in insertion order.
    public var keys: [String] { storage.map(\.key) }

    /// The number of entries.
    public var count: Int { storage.count }

    /// True when the map has no entries.
    public var isEmpty: Bool { storage.isEmpty }

    /// The value for `key`. Setting a new key appends it; setting an existing key keeps its
    /// position; setting `nil` removes it.
    ///
    /// - Parameter key: the key.
    public subscript(key: String) -> ConfigValue? {
        get { index[key].map { storage[$0].value } }
        set {
            if let newValue {
                if let position = index[key] {
                    storage[position].value = newValue
                } else {
                    index[key] = storage.count
                    storage.append((key, newValue))
                }
            } else {
                removeValue(forKey: key)
            }
        }
    }

    /// Removes `key` and returns its value, or `nil` when it was absent.
    ///
    /// - Parameter key: the key to remove.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> ConfigValue? {
        guard let position = index.removeValue(forKey: key) else { return nil }
        let removed = storage.remove(at: position).value
        for later in position..<storage.count { index[storage[later].key] = later }
        return removed
    }

    /// True when `key` is present.
    ///
    /// - Parameter key: the key.
    public func contains(_ key: String) -> Bool { index[key] != nil }

    /// Equal when both maps hold the same keys with equal values; order is ignored.
    public static func == (lhs: ConfigMap, rhs: ConfigMap) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.storage.allSatisfy { rhs[$0.key] == $0.value }
    }
}

extension ConfigMap: Sequence {
    /// Iterates the entries in insertion order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: ConfigValue)]> {
        storage.makeIterator()
    }
}

extension ConfigMap: ExpressibleByDictionaryLiteral {
    /// Creates a map keeping the literal's key order.
    public init(dictionaryLiteral elements: (String, ConfigValue)...) {
        self.init(elements)
    }
}
