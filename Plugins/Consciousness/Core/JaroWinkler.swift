/// Jaro-Winkler similarity in [0, 1] (1 for equal texts), over Unicode scalars, with the usual
/// prefix scale 0.1 over at most 4 leading scalars, added only when the Jaro similarity is above
/// 0.7 (Winkler's boost threshold); the similarity Jamey 3.0 took from `strsim` (0.11).
enum JaroWinkler {
    /// The most scalars of each text compared, so one call stays under a millisecond.
    static let limit = 1_000
    /// The Jaro similarity a pair must pass before a shared prefix raises it.
    static let boostThreshold = 0.7

    /// - Parameter scanOnly: always take the window scan (tests compare it with the fast path).
    static func similarity(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], scanOnly: Bool = false) -> Double {
        let n = min(a.count, limit)
        let m = min(b.count, limit)
        if n == 0 && m == 0 { return 1 }
        if n == 0 || m == 0 { return 0 }
        return a.withUnsafeBufferPointer { s in
            b.withUnsafeBufferPointer { t in
                withUnsafeTemporaryAllocation(of: Bool.self, capacity: n + m) { flags in
                    flags.initialize(repeating: false)
                    let window = max(0, max(n, m) / 2 - 1)
                    let fast = scanOnly ? nil : asciiMatches(s, n, t, m, window, flags)
                    let matched = fast ?? scanMatches(s, n, t, m, window, flags)
                    return score(s, n, t, m, matched, flags)
                }
            }
        }
    }

    /// Marks the matches (flags[0..<n] for `s`, flags[n..<n+m] for `t`) by scanning each window.
    private static func scanMatches(
        _ s: UnsafeBufferPointer<Unicode.Scalar>, _ n: Int, _ t: UnsafeBufferPointer<Unicode.Scalar>, _ m: Int,
        _ window: Int, _ flags: UnsafeMutableBufferPointer<Bool>
    ) -> Int {
        var matches = 0
        for i in 0..<n {
            let c = s[i]
            let from = max(0, i - window)
            let to = min(m - 1, i + window)
            guard from <= to else { continue }
            for j in from...to where !flags[n + j] && t[j] == c {
                flags[i] = true
                flags[n + j] = true
                matches += 1
                break
            }
        }
        return matches
    }

    /// The same matches as ``scanMatches`` in O(n + m) when `t` is ASCII: the scan takes, for each
    /// scalar of `s`, the first unmatched equal scalar of `t` in its window; as the windows only
    /// move right, the equal scalars of `t` are taken in order, so one cursor per value replaces
    /// the scan. Nil when `t` is not ASCII.
    private static func asciiMatches(
        _ s: UnsafeBufferPointer<Unicode.Scalar>, _ n: Int, _ t: UnsafeBufferPointer<Unicode.Scalar>, _ m: Int,
        _ window: Int, _ flags: UnsafeMutableBufferPointer<Bool>
    ) -> Int? {
        for j in 0..<m where t[j].value >= 0x80 { return nil }
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 128 + m) { links in
            // links[0..<128]: each value's first unconsumed position in t; links[128 + j]: the next
            // position after j with the same value (−1: none).
            links.initialize(repeating: -1)
            for j in stride(from: m - 1, through: 0, by: -1) {
                let v = Int(t[j].value)
                links[128 + j] = links[v]
                links[v] = Int32(j)
            }
            var matches = 0
            for i in 0..<n {
                let v = Int(s[i].value)
                guard v < 0x80 else { continue }
                var j = Int(links[v])
                while j >= 0 && j < i - window { j = Int(links[128 + j]) }
                links[v] = Int32(j)
                guard j >= 0 && j <= i + window else { continue }
                flags[i] = true
                flags[n + j] = true
                matches += 1
                links[v] = links[128 + j]
            }
            return matches
        }
    }

    /// Jaro from the marked matches, then Winkler's prefix bonus above the boost threshold.
    private static func score(
        _ s: UnsafeBufferPointer<Unicode.Scalar>, _ n: Int, _ t: UnsafeBufferPointer<Unicode.Scalar>, _ m: Int,
        _ matches: Int, _ flags: UnsafeMutableBufferPointer<Bool>
    ) -> Double {
        guard matches > 0 else { return 0 }
        var transpositions = 0
        var j = 0
        for i in 0..<n where flags[i] {
            while !flags[n + j] { j += 1 }
            if s[i] != t[j] { transpositions += 1 }
            j += 1
        }
        let k = Double(matches)
        let jaro = (k / Double(n) + k / Double(m) + (k - Double(transpositions / 2)) / k) / 3
        guard jaro > boostThreshold else { return jaro }
        var prefix = 0
        while prefix < min(4, n, m) && s[prefix] == t[prefix] { prefix += 1 }
        return jaro + Double(prefix) * 0.1 * (1 - jaro)
    }
}
