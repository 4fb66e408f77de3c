/// Close matches for a mistyped name ("did you mean ...?").
enum Suggestions {
    /// Up to `limit` candidates close to `text`: within a few edits (case-insensitive), or
    /// containing it; closest first.
    static func closest(to text: String, among candidates: [String], limit: Int = 3) -> [String] {
        let wanted = text.lowercased()
        let allowed = max(2, wanted.count / 3)
        var scored: [(candidate: String, distance: Int)] = []
        for candidate in candidates {
            let lower = candidate.lowercased()
            let distance = editDistance(wanted, lower)
            if distance <= allowed {
                scored.append((candidate, distance))
            } else if wanted.count >= 3, lower.contains(wanted) || (lower.count >= 3 && wanted.contains(lower)) {
                scored.append((candidate, allowed + 1))
            }
        }
        return scored.sorted { $0.distance < $1.distance }.prefix(limit).map(\.candidate)
    }

    /// The Levenshtein distance between two strings, by characters.
    static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs)
        let b = Array(rhs)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
