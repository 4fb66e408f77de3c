/// Jaro-Winkler similarity in [0, 1] (1 for equal texts), over Unicode scalars, with the usual
/// prefix scale 0.1 over at most 4 leading scalars; the similarity Jamey 3.0 took from `strsim`.
enum JaroWinkler {
    /// The most scalars of each text compared, so one call stays under a millisecond.
    static let limit = 1_000

    static func similarity(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Double {
        let s = a.prefix(limit)
        let t = b.prefix(limit)
        if s.isEmpty && t.isEmpty { return 1 }
        if s.isEmpty || t.isEmpty { return 0 }
        let window = max(0, max(s.count, t.count) / 2 - 1)
        var sMatched = [Bool](repeating: false, count: s.count)
        var tMatched = [Bool](repeating: false, count: t.count)
        var matches = 0
        for (i, c) in s.enumerated() {
            let from = max(0, i - window)
            let to = min(t.count - 1, i + window)
            guard from <= to else { continue }
            for j in from...to where !tMatched[j] && t[t.startIndex + j] == c {
                sMatched[i] = true
                tMatched[j] = true
                matches += 1
                break
            }
        }
        guard matches > 0 else { return 0 }
        var transpositions = 0
        var j = 0
        for i in 0..<s.count where sMatched[i] {
            while !tMatched[j] { j += 1 }
            if s[s.startIndex + i] != t[t.startIndex + j] { transpositions += 1 }
            j += 1
        }
        let m = Double(matches)
        let jaro = (m / Double(s.count) + m / Double(t.count) + (m - Double(transpositions / 2)) / m) / 3
        var prefix = 0
        while prefix < min(4, s.count, t.count) && s[s.startIndex + prefix] == t[t.startIndex + prefix] { prefix += 1 }
        return jaro + Double(prefix) * 0.1 * (1 - jaro)
    }
}
