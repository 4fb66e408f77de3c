/// A set of semantic versions written as in `requires` entries of the ABI:
/// `*`, `1.2.3` (exact), `>=1.2.0 <2.0.0` (space-separated comparators, all must hold),
/// `^1.2` (compatible: same major, or same minor below 1.0), `~1.2.3` (same minor),
/// `1.x` / `1.2.x` (wildcards). A range can be a list of alternatives joined by `||`.
public struct VersionRange: Sendable, CustomStringConvertible {
    private struct Comparator: Sendable {
        enum Op: Sendable { case lt, le, gt, ge, eq }
        var op: Op
        var version: SemanticVersion
        func matches(_ v: SemanticVersion) -> Bool {
            switch op {
            case .lt: v < version
            case .le: v <= version
            case .gt: v > version
            case .ge: v >= version
            case .eq: v == version
            }
        }
    }

    private let alternatives: [[Comparator]]
    /// The text the range was parsed from.
    public let description: String

    /// The range that every version satisfies.
    public static let any = VersionRange(unchecked: "*")

    private init(unchecked text: String) {
        description = text
        alternatives = [[]]
    }

    /// Parses a range; returns nil when the text is not a valid range.
    public init?(_ text: String) {
        let trimmed = text.trimmingWhitespace()
        var alternatives: [[Comparator]] = []
        for alternative in trimmed.splitAlternatives() {
            var comparators: [Comparator] = []
            let words = alternative.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if words.isEmpty { return nil }
            for word in words {
                guard let parsed = Self.parse(word) else { return nil }
                comparators += parsed
            }
            alternatives.append(comparators)
        }
        self.alternatives = alternatives
        self.description = trimmed
    }

    /// Whether `version` lies in the range. Pre-releases match only comparators that name a
    /// pre-release of the same major.minor.patch, as npm and Cargo do.
    public func contains(_ version: SemanticVersion) -> Bool {
        alternatives.contains { comparators in
            guard comparators.allSatisfy({ $0.matches(version) }) else { return false }
            if version.prerelease.isEmpty { return true }
            return comparators.contains {
                !$0.version.prerelease.isEmpty && $0.version.major == version.major
                    && $0.version.minor == version.minor && $0.version.patch == version.patch
            }
        }
    }

    private static func parse(_ word: String) -> [Comparator]? {
        if word == "*" || word == "x" { return [] }
        let ops: [(String, Comparator.Op)] = [(">=", .ge), ("<=", .le), (">", .gt), ("<", .lt), ("=", .eq)]
        for (prefix, op) in ops where word.hasPrefix(prefix) {
            guard let v = SemanticVersion(String(word.dropFirst(prefix.count))) else { return nil }
            return [Comparator(op: op, version: v)]
        }
        if word.hasPrefix("^") {
            guard let (v, given) = partial(String(word.dropFirst())) else { return nil }
            let upper: SemanticVersion
            if v.major > 0 || given == 1 {
                upper = SemanticVersion(v.major + 1, 0, 0)
            } else if v.minor > 0 || given == 2 {
                upper = SemanticVersion(0, v.minor + 1, 0)
            } else {
                upper = SemanticVersion(0, 0, v.patch + 1)
            }
            return [Comparator(op: .ge, version: v), Comparator(op: .lt, version: upper)]
        }
        if word.hasPrefix("~") {
            guard let (v, given) = partial(String(word.dropFirst())) else { return nil }
            let upper = given == 1 ? SemanticVersion(v.major + 1, 0, 0) : SemanticVersion(v.major, v.minor + 1, 0)
            return [Comparator(op: .ge, version: v), Comparator(op: .lt, version: upper)]
        }
        // Exact version or an x-range such as 1.x / 1.2.x / 1 / 1.2.
        if let v = SemanticVersion(word) { return [Comparator(op: .eq, version: v)] }
        guard let (v, given) = partial(word) else { return nil }
        let upper = given == 1 ? SemanticVersion(v.major + 1, 0, 0) : SemanticVersion(v.major, v.minor + 1, 0)
        return [Comparator(op: .ge, version: v), Comparator(op: .lt, version: upper)]
    }

    /// Parses `1`, `1.2`, `1.x`, `1.2.x`, `1.2.3`: the version with missing parts as 0, and how
    /// many numeric parts were given.
    private static func partial(_ text: String) -> (SemanticVersion, Int)? {
        if let v = SemanticVersion(text) { return (v, 3) }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var numbers: [Int] = []
        for part in parts {
            if part == "x" || part == "X" || part == "*" { break }
            guard let n = Int(part), n >= 0 else { return nil }
            numbers.append(n)
        }
        guard !numbers.isEmpty, numbers.count < 3 else { return nil }
        return (SemanticVersion(numbers[0], numbers.count > 1 ? numbers[1] : 0, 0), numbers.count)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

extension String {
    /// Splits a range on `||`.
    fileprivate func splitAlternatives() -> [String] {
        var parts: [String] = []
        var current = ""
        var chars = self[...]
        while let c = chars.first {
            if chars.hasPrefix("||") {
                parts.append(current)
                current = ""
                chars = chars.dropFirst(2)
            } else {
                current.append(c)
                chars = chars.dropFirst()
            }
        }
        parts.append(current)
        return parts
    }
}
