/// Light suffix stripping so inflected forms meet: "harms", "harmed", "harming", "harmful" and
/// "harmfully" all become "harm"; "deceive", "deceived", "deceives" and "deceiving" become
/// "deceiv". It is deliberately small and predictable, not a full Porter stemmer:
///
/// 1. a few irregular forms are mapped first ("lying" and "lied" to "lie");
/// 2. up to two passes strip the first suffix of ``suffixes`` that leaves at least three
///    letters ("s" is never stripped after "s", "ed" never after "e", so "harass" and "need"
///    stay whole); after "ing" or "ed" a doubled final consonant other than l, s or z is undone
///    ("stopped" → "stop", but "killed" → "kill");
/// 3. a final "e" is dropped when three letters remain ("cause" → "caus", like "causes").
///
/// Keywords and text go through the same function, so a stem only has to be consistent, not a
/// real word.
public enum Stemmer {
    /// Suffixes tried in this order (longest forms first).
    public static let suffixes = ["ingly", "edly", "fully", "ings", "ing", "ies", "ied", "ed", "es", "ly", "ful", "y", "s"]

    /// Irregular forms mapped before stripping.
    public static let irregular: [String: String] = ["lying": "lie", "lied": "lie", "lies": "lie"]

    /// The stem of a lower-case word without punctuation.
    public static func stem(_ word: String) -> String {
        if let mapped = irregular[word] { return mapped }
        var current = word
        for _ in 0..<2 {
            guard let next = stripOnce(current) else { break }
            current = next
        }
        if current.count > 3, current.hasSuffix("e") { current.removeLast() }
        return current
    }

    /// `word` without its first strippable suffix, or nil when none applies.
    static func stripOnce(_ word: String) -> String? {
        for suffix in suffixes where word.hasSuffix(suffix) {
            var rest = String(word.dropLast(suffix.count))
            guard rest.count >= 3 else { continue }
            if suffix == "s", rest.hasSuffix("s") || rest.hasSuffix("u") || rest.hasSuffix("i") { continue }
            if suffix == "ed" || suffix == "es", rest.hasSuffix("e") { continue }
            if suffix == "ing" || suffix == "ed" || suffix == "ings" {
                let letters = Array(rest)
                if letters.count >= 4, let last = letters.last, last == letters[letters.count - 2], !"lsz".contains(last),
                    !"aeiou".contains(last)
                {
                    rest.removeLast()
                }
            }
            return rest
        }
        return nil
    }
}
