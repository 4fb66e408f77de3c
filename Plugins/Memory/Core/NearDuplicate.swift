/// Near-duplicate detection: two texts are near-duplicates when the Jaccard similarity of their
/// word shingles reaches a threshold.
///
/// Texts are normalised to their words (``FTSQuery/words(_:)``: lower case, punctuation dropped);
/// shingles are runs of ``shingleSize`` consecutive words (a text shorter than that is one
/// shingle). Jaccard = |A ∩ B| / |A ∪ B|: 1 for the same words in the same order, 0 for nothing in
/// common. With 3-word shingles and the default threshold 0.8, a changed word in a 20-word text
/// still matches, while a different sentence about the same subject does not.
public struct NearDuplicate: Sendable, Equatable {
    /// Words per shingle.
    public var shingleSize: Int
    /// The similarity at or above which two texts are near-duplicates (0 to 1).
    public var threshold: Double

    /// - Parameters:
    ///   - threshold: similarity at or above which texts are near-duplicates (default 0.8).
    ///   - shingleSize: words per shingle (default 3).
    public init(threshold: Double = 0.8, shingleSize: Int = 3) {
        self.threshold = threshold
        self.shingleSize = max(1, shingleSize)
    }

    /// The shingles of `text`.
    /// - Parameter text: any text.
    public func shingles(_ text: String) -> Set<String> {
        let words = FTSQuery.words(text)
        guard words.count > shingleSize else { return words.isEmpty ? [] : [words.joined(separator: " ")] }
        return Set((0...(words.count - shingleSize)).map { words[$0..<($0 + shingleSize)].joined(separator: " ") })
    }

    /// A text's shingles with the words of each, to tell cheaply that a text lacking some of
    /// those words cannot be a near-duplicate of it (``canMatch(lacking:)``).
    public struct Profile: Sendable {
        /// The text's shingles.
        public let shingles: Set<String>
        /// The distinct words of the shingles (``FTSQuery/words(_:)``), in order of first use.
        public let words: [String]
        /// For each word the shingles holding it (a bit per shingle, `chunks` 64-bit words per
        /// word, flat): a check asks about each word once, not once per shingle.
        private let masks: [UInt64]
        private let chunks: Int
        private let threshold: Double
        /// The words by a 64-bit hash of their bytes (``wordHash(_:)``), open-addressed (at most
        /// half full): `finder[i]` is a hash with its lowest bit set, 0 for empty, and
        /// `finderWord[i]` its position in ``words``.
        private let finder: [UInt64]
        private let finderWord: [Int32]
        /// Each word's bits in a ``WordSignature``.
        private let signatureBits: [WordSignature]

        /// The profile of a text split into `text` words, in one pass: each distinct word gets a
        /// position, each new shingle a bit. (Built from the shingles' strings, splitting each
        /// again and keeping an array per word, it took three times as long as the shingles
        /// themselves, about 30 µs a text.)
        init(words text: [String], shingleSize: Int, threshold: Double) {
            self.threshold = threshold
            var positions: [String: Int] = [:]
            positions.reserveCapacity(text.count)
            var words: [String] = []
            let ids = text.map { word in
                if let at = positions[word] { return at }
                positions[word] = words.count
                words.append(word)
                return words.count - 1
            }
            // The shingles' word runs: every `shingleSize` words, or the whole text when shorter.
            let starts = text.count > shingleSize ? Array(0...(text.count - shingleSize)) : text.isEmpty ? [] : [0]
            let width = min(shingleSize, text.count)
            let chunks = (starts.count + 63) / 64
            var shingles = Set<String>(minimumCapacity: starts.count)
            var masks = Array(repeating: UInt64(0), count: words.count * chunks)
            for start in starts {
                guard shingles.insert(text[start..<(start + width)].joined(separator: " ")).inserted else { continue }
                let bit = shingles.count - 1
                for id in ids[start..<(start + width)] { masks[id * chunks + bit / 64] |= 1 << UInt64(bit % 64) }
            }
            self.shingles = shingles
            self.words = words
            self.masks = masks
            self.chunks = chunks
            var size = 16
            while size < 2 * words.count { size <<= 1 }
            var finder = Array(repeating: UInt64(0), count: size)
            var finderWord = Array(repeating: Int32(0), count: size)
            var signatureBits: [WordSignature] = []
            signatureBits.reserveCapacity(words.count)
            for (at, word) in words.enumerated() {
                let hash = Self.wordHash(word.utf8)
                signatureBits.append(WordSignature(hash: hash))
                var slot = Int(truncatingIfNeeded: hash >> 32) & (size - 1)
                while finder[slot] != 0 { slot = (slot + 1) & (size - 1) }
                finder[slot] = hash | 1
                finderWord[slot] = Int32(at)
            }
            self.finder = finder
            self.finderWord = finderWord
            self.signatureBits = signatureBits
        }

        /// ``canMatch(lacking:)`` for a candidate of whose words only a signature is known: it
        /// lacks each word whose bits are not all set in `signature`.
        public func canMatch(signature: WordSignature) -> Bool {
            guard !shingles.isEmpty else { return true }
            return reachable(excluded: covered { !signature.mayHold(signatureBits[$0]) })
        }

        /// FNV-1a over a word's bytes.
        @inline(__always) static func wordHash(_ bytes: some Sequence<UInt8>) -> UInt64 {
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
            return hash
        }

        /// ``canMatch(lacking:)`` for a candidate whose text is ASCII, lacking the words its text
        /// does not hold, found by one pass over its bytes: each run of letters and digits,
        /// lower-cased (the split of ``FTSQuery/words(_:)`` and of FTS5 for ASCII), is hashed
        /// and looked up among this text's words. Counting the candidate's terms into a
        /// dictionary and asking it about each word of each shingle took about 20 µs a candidate
        /// at a million items, where a check may read hundreds. Two words of equal hash count as
        /// held, which only lets a candidate through to the exact comparison.
        /// - Parameter text: the candidate's text, ASCII (nil when it is not).
        public func canMatch(asciiText text: String) -> Bool? {
            guard !shingles.isEmpty else { return true }
            var text = text
            return text.withUTF8 { bytes -> Bool? in
                var held = Array(repeating: false, count: words.count)
                var hash: UInt64 = 0xCBF2_9CE4_8422_2325
                var inWord = false
                for index in 0...bytes.count {
                    let byte: UInt8 = index < bytes.count ? bytes[index] : 0x20
                    guard byte < 0x80 else { return nil }
                    if let byte = FTSQuery.asciiWordByte(byte) {
                        hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
                        inWord = true
                    } else if inWord {
                        let key = hash | 1
                        var slot = Int(truncatingIfNeeded: key >> 32) & (finder.count - 1)
                        while finder[slot] != 0 {
                            if finder[slot] == key { held[Int(finderWord[slot])] = true }
                            slot = (slot + 1) & (finder.count - 1)
                        }
                        hash = 0xCBF2_9CE4_8422_2325
                        inWord = false
                    }
                }
                return reachable(excluded: covered { !held[$0] })
            }
        }

        /// The shingles holding any of the words at `positions` in ``words``, counted.
        private func covered(_ positions: some Sequence<Int>) -> Int { covered { positions.contains($0) } }

        /// The shingles holding any word whose position in ``words`` `lacked` accepts, counted;
        /// without allocating for a text of at most 64 shingles (a check may ask this of
        /// hundreds of candidates).
        private func covered(where lacked: (Int) -> Bool) -> Int {
            if chunks == 1 {
                var union: UInt64 = 0
                for at in words.indices where lacked(at) { union |= masks[at] }
                return union.nonzeroBitCount
            }
            var union = Array(repeating: UInt64(0), count: chunks)
            for at in words.indices where lacked(at) {
                for chunk in 0..<chunks { union[chunk] |= masks[at * chunks + chunk] }
            }
            return union.reduce(0) { $0 + $1.nonzeroBitCount }
        }

        /// The shingles of the word at `at` (`chunks` words).
        private func mask(_ at: Int) -> ArraySlice<UInt64> { masks[(at * chunks)..<((at + 1) * chunks)] }

        /// False when a text whose words do not include any word `missing` says it lacks
        /// cannot reach the threshold: every shingle holding such a word is outside the
        /// intersection, so the similarity is at most the share of the other shingles.
        public func canMatch(lacking missing: (Substring) -> Bool) -> Bool {
            guard !shingles.isEmpty else { return true }
            return reachable(excluded: covered { missing(words[$0][...]) })
        }

        /// True when a text lacking `excluded` of the shingles can still reach the threshold.
        ///
        /// Such a text `B` shares at most `n − excluded` of the `n` shingles, and its union with
        /// them has at least `n`, so its similarity (`shared / union`, one correctly rounded
        /// division, which cannot grow when `shared` falls or `union` grows) is at most
        /// `(n − excluded) / n`.
        func reachable(excluded: Int) -> Bool {
            Double(shingles.count - excluded) / Double(shingles.count) >= threshold
        }

        /// A condition every near-duplicate of this text meets, cheap to look up: it holds at
        /// least ``Lookup/least`` of ``Lookup/words``. Exact, not a heuristic: a text lacking
        /// more of those words (and the words no item holds) lacks every shingle that holds
        /// them, too many to reach the threshold (``canMatch(lacking:)``).
        ///
        /// `counts` gives, for the words an index looks up exactly (its split of any text into
        /// words is this one's), how many of its items hold each; a word it leaves out is never
        /// taken. A word held by no item is lacked by every item: when those alone make the
        /// threshold unreachable the result is ``LookupPlan/nothing``. Otherwise, for each `k`
        /// up to ``Lookup/maxWords``, the `k` rarest words and the most of them a near-duplicate
        /// may lack (tried over every subset) give a condition; the one expected to read the
        /// fewest rows is returned (``Lookup/cost(counts:items:)``). `nil` when no set of known
        /// words constrains a near-duplicate (too few of the text's shingles hold a known word):
        /// the caller then has no exact way to find its candidates.
        ///
        /// Planning works on word positions and bit masks, with each count looked up once: with
        /// the words as strings (hashed again for each comparison of a sort, and for every
        /// clause of every cost), planning was a sixth of a merge-mode store at a million items.
        /// - Parameters:
        ///   - counts: items holding each word (0: none), for the words the index splits alike.
        ///   - items: how many items the index holds (for the cost estimate).
        public func lookup(counts: [String: Int], items: Int) -> LookupPlan? {
            guard !shingles.isEmpty else { return nil }
            var absent: [Int] = []
            var held: [(at: Int, count: Int)] = []
            for (at, word) in words.enumerated() {
                guard let n = counts[word] else { continue }
                if n == 0 { absent.append(at) } else { held.append((at, n)) }
            }
            guard reachable(excluded: covered(absent)) else { return .nothing }
            held.sort { ($0.count, words[$0.at]) < ($1.count, words[$1.at]) }
            // The shingles excluded when a text lacks the words of `subset` (bit i: the i-th
            // rarest) and every absent one: counted without building a mask per subset.
            let rarest = held.prefix(Lookup.maxWords).map { Array(mask($0.at)) }
            var lackingAbsent = Array(repeating: UInt64(0), count: chunks)
            for at in absent { for (chunk, bits) in mask(at).enumerated() { lackingAbsent[chunk] |= bits } }
            func excluded(lacking subset: Int) -> Int {
                var total = 0
                for chunk in lackingAbsent.indices {
                    var bits = lackingAbsent[chunk]
                    var rest = subset
                    while rest != 0 {
                        bits |= rarest[rest.trailingZeroBitCount][chunk]
                        rest &= rest - 1
                    }
                    total += bits.nonzeroBitCount
                }
                return total
            }
            let rarestCounts = held.prefix(Lookup.maxWords).map { Double($0.count) }
            var best: (k: Int, least: Int, required: Int, cost: Double)?
            for k in stride(from: 1, through: rarest.count, by: 1) {
                // The words a near-duplicate cannot lack even alone, so it holds each of them
                // (lacking more words never excludes fewer shingles): in every clause.
                var required = 0
                for index in 0..<k where !reachable(excluded: excluded(lacking: 1 << index)) { required |= 1 << index }
                // The most of the other chosen words a near-duplicate may lack.
                var lackable = 0
                for subset in 0..<(1 << k) where subset & required == 0 && subset.nonzeroBitCount > lackable {
                    if reachable(excluded: excluded(lacking: subset)) { lackable = subset.nonzeroBitCount }
                }
                guard lackable < k else { continue }
                let least = k - lackable
                let optional = k - required.nonzeroBitCount
                guard Lookup.binomial(optional, least - required.nonzeroBitCount) <= Lookup.maxClauses else { continue }
                let cost = Lookup.cost(
                    counts: rarestCounts[..<k], required: required, least: least, items: items)
                if cost < best?.cost ?? .infinity { best = (k, least, required, cost) }
            }
            return best.map { best in
                let chosen = held.prefix(best.k).map { words[$0.at] }
                return .read(
                    Lookup(
                        words: chosen, least: best.least,
                        required: chosen.indices.filter { best.required & (1 << $0) != 0 }.map { chosen[$0] }))
            }
        }
    }

    /// The words of a text in 128 bits, a Bloom filter: each word sets two bits chosen by its
    /// hash (FNV-1a of its bytes). A text whose signature lacks a bit of a word does not hold
    /// that word; one holding all of them may or may not (with 25 distinct words about a tenth
    /// of other words look held). A near-duplicate check reads candidates' signatures, a few
    /// bytes each in a table of their own, to rule out most candidates before reading their
    /// texts: a text whose lookup returned hundreds of candidates had each read at about 12 µs
    /// at a million items.
    public struct WordSignature: Sendable, Equatable {
        public var low: UInt64
        public var high: UInt64

        public init(low: UInt64, high: UInt64) {
            self.low = low
            self.high = high
        }

        /// The signature of these words (a text's, split as ``FTSQuery/words(_:)`` splits it).
        public init(words: some Sequence<some StringProtocol>) {
            low = 0
            high = 0
            for word in words {
                let one = Self(hash: Profile.wordHash(word.utf8))
                low |= one.low
                high |= one.high
            }
        }

        /// The signature of one word whose ``Profile/wordHash(_:)`` is `hash`.
        init(hash: UInt64) {
            // FNV's low bits depend only on the bytes' low bits: mixed first.
            var mixed = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            mixed ^= mixed >> 31
            let first = mixed & 127
            let second = (mixed >> 7) & 127
            low = (first < 64 ? 1 << first : 0) | (second < 64 ? 1 << second : 0)
            high = (first >= 64 ? 1 << (first - 64) : 0) | (second >= 64 ? 1 << (second - 64) : 0)
        }

        /// True when every bit of `word` (a one-word signature) is set here.
        public func mayHold(_ word: WordSignature) -> Bool { low & word.low == word.low && high & word.high == word.high }
    }

    /// Where a near-duplicate check looks for candidates in one index (``Profile/lookup(counts:items:)``).
    public enum LookupPlan: Sendable, Equatable {
        /// No item of the index can be a near-duplicate: the words none of them holds cover too
        /// many shingles.
        case nothing
        /// Every near-duplicate in the index meets this condition.
        case read(Lookup)
    }

    /// A near-duplicate holds every word of ``required`` and at least ``least`` of ``words``
    /// (``required`` counted): it meets one of ``clauses``.
    public struct Lookup: Sendable, Equatable {
        /// Most words a lookup takes (every subset of them is tried).
        public static let maxWords = 8
        /// Most clauses (sets of words that must occur together) a lookup may have.
        public static let maxClauses = 16

        /// The words, rarest first.
        public var words: [String]
        /// How many of them a near-duplicate holds at least (1 to `words.count`).
        public var least: Int
        /// The words of ``words`` a near-duplicate holds each of (at most ``least`` of them):
        /// lacking one alone loses too many shingles. At a million items a short text of common
        /// words with one rare word was looked up by pairs of its words, one pair of two common
        /// ones reading a thousand rows; with the rare word in every clause, a few dozen.
        public var required: [String]

        public init(words: [String], least: Int, required: [String] = []) {
            self.words = words
            self.least = least
            self.required = required
        }

        /// `n` choose `k`.
        static func binomial(_ n: Int, _ k: Int) -> Int { k == 0 ? 1 : binomial(n - 1, k - 1) * n / k }

        /// ``required`` with each subset of the other words that brings it to ``least`` words: a
        /// near-duplicate holds all the words of one.
        public var clauses: [[String]] {
            let optional = words.filter { !required.contains($0) }
            let need = least - required.count
            var result: [[String]] = []
            func extend(_ clause: [String], from start: Int) {
                guard clause.count < need else { return result.append(required + clause) }
                for index in start..<optional.count where optional.count - index >= need - clause.count {
                    extend(clause + [optional[index]], from: index + 1)
                }
            }
            extend([], from: 0)
            return result
        }

        /// The FTS5 `MATCH` expression of the condition: the ``required`` words, and ``least``
        /// of the words in all, factored so that each word is looked up once per way of
        /// reaching it rather than once per clause holding it — "2 of A B C D" is
        /// `(("A" AND ("B" OR "C" OR "D")) OR ("B" AND ("C" OR "D")) OR ("C" AND "D"))`,
        /// 9 lookups where the six clauses took 12. FTS5 seeks a word in every segment for each
        /// lookup: at a million items the factored form answered lookups by 2 of 5 words in
        /// 0.69-0.74 ms at the median against 0.85-0.93 (p99 1.8-2.1 against 2.2-2.6 ms). The
        /// words are plain terms, quoted; rarest first, so the rarest drives each `AND`.
        public var expression: String {
            let optional = words.filter { !required.contains($0) }
            func quoted(_ word: String) -> String { "\"\(word)\"" }
            // Any `m` of `words`, parenthesised unless a single word or clause.
            func any(_ words: ArraySlice<String>, _ m: Int) -> String {
                let ways =
                    m == 1
                    ? words.map(quoted)
                    : (words.startIndex...(words.endIndex - m)).map {
                        "(" + quoted(words[$0]) + " AND " + any(words[($0 + 1)...], m - 1) + ")"
                    }
                return ways.count == 1 ? ways[0] : "(" + ways.joined(separator: " OR ") + ")"
            }
            let need = least - required.count
            return (required.map(quoted) + (need > 0 ? [any(optional[...], need)] : [])).joined(separator: " AND ")
        }

        /// The expected work of the lookup, in microseconds of this machine's FTS5 at a million
        /// items: each word of each clause looked up (a seek in every FTS5 segment, about 40 µs);
        /// the clause's rarest word walked (about 0.035 µs a posting) and each other word sought
        /// once per row of the rarest (about 0.25 µs) or walked, whichever is less; each row
        /// returned (about 1 µs: the check rules most out by their word signatures, held in
        /// memory). A clause's rows are estimated as if its words occurred independently, and at
        /// most its rarest word's.
        ///
        /// Measured over the bench's 1000 merge-mode texts against its million items (lookup,
        /// signatures and the texts read, each the best of five): with the former model, which
        /// charged 40 µs a row and 0.02 µs for every posting of every word, a word's seeks were
        /// cheap and its rows dear, so a lookup added common words to save rows: 120 ms in all,
        /// p99 0.45 ms, slowest 1.9 ms (two of four words of which one was in 25 000 items); with
        /// this one 94 ms, p99 0.36 ms, slowest 0.94 ms.
        /// - Parameters:
        ///   - counts: items holding each word.
        ///   - items: items in the index.
        public func cost(counts: [String: Int], items: Int) -> Double {
            var mask = 0
            for (index, word) in words.enumerated() where required.contains(word) { mask |= 1 << index }
            return Self.cost(counts: words.map { Double(counts[$0] ?? 0) }[...], required: mask, least: least, items: items)
        }

        /// ``cost(counts:items:)`` by position: `counts[i]` for the i-th word, `required` a bit per
        /// required word. Each clause's words are taken in ``clauses``' order (required first), and
        /// the clauses in that order, so the sums are the same.
        static func cost(counts: ArraySlice<Double>, required: Int, least: Int, items: Int) -> Double {
            let total = Double(max(items, 1))
            let base = counts.startIndex
            let fixed = counts.indices.filter { required & (1 << ($0 - base)) != 0 }
            let optional = counts.indices.filter { required & (1 << ($0 - base)) == 0 }
            let need = least - fixed.count
            var cost = 0.0
            var clause = fixed
            func extend(from start: Int) {
                guard clause.count - fixed.count < need else {
                    guard let driver = clause.min(by: { counts[$0] < counts[$1] }) else { return }
                    let rarest = counts[driver]
                    var product = total
                    for at in clause { product = product * counts[at] / total }
                    // The rarest word drives the clause: its postings are walked, and each other
                    // word is sought once per row of it, or walked if that is less.
                    var words = 40 * Double(clause.count) + 0.035 * rarest
                    for at in clause where at != driver { words += min(0.25 * rarest, 0.035 * counts[at]) }
                    cost += words + min(rarest, product)
                    return
                }
                for index in start..<optional.count where optional.count - index >= need - (clause.count - fixed.count) {
                    clause.append(optional[index])
                    extend(from: index + 1)
                    clause.removeLast()
                }
            }
            extend(from: 0)
            return cost
        }
    }

    /// The profile of `text`.
    /// - Parameter text: any text.
    public func profile(_ text: String) -> Profile {
        Profile(words: FTSQuery.words(text), shingleSize: shingleSize, threshold: threshold)
    }

    /// The profile of a text split into `words` (``FTSQuery/words(_:)``), or nil when the text
    /// is too long to be checked: more than ``maxCheckedWords`` words or ``maxCheckedDistinctWords``
    /// distinct ones. A profile keeps a bit per shingle for each distinct word, so its cost grows
    /// with the product of the two: one 65 KB text of 20 000 distinct words took 6.4 s to store,
    /// holding every other store of the plugin behind it (security audit).
    public func checkedProfile(words: [String]) -> Profile? {
        guard words.count <= Self.maxCheckedWords, Set(words).count <= Self.maxCheckedDistinctWords else { return nil }
        return Profile(words: words, shingleSize: shingleSize, threshold: threshold)
    }

    /// The most words of a text checked for near-duplicates.
    public static let maxCheckedWords = 4096
    /// The most distinct words of a text checked for near-duplicates.
    public static let maxCheckedDistinctWords = 1024

    /// Jaccard similarity of two shingle sets (1 when both are empty).
    /// - Parameters:
    ///   - a: one set.
    ///   - b: the other.
    public static func jaccard(_ a: Set<String>, _ b: Set<String>) -> Double {
        if a.isEmpty && b.isEmpty { return 1 }
        let (small, large) = a.count <= b.count ? (a, b) : (b, a)
        var shared = 0
        for shingle in small where large.contains(shingle) { shared += 1 }
        return Double(shared) / Double(a.count + b.count - shared)
    }

    /// The similarity of two texts.
    /// - Parameters:
    ///   - a: one text.
    ///   - b: the other.
    public func similarity(_ a: String, _ b: String) -> Double { Self.jaccard(shingles(a), shingles(b)) }

    /// Whether two texts are near-duplicates.
    /// - Parameters:
    ///   - a: one text.
    ///   - b: the other.
    public func matches(_ a: String, _ b: String) -> Bool { similarity(a, b) >= threshold }

    /// The words a near-duplicate check looks its candidates up by: up to `count` of `known` (a
    /// text's words with the items holding each, words in no item left out), fewest items
    /// first, taken while their items add up to at most `budget`; when fewer than two fit, the
    /// `count` rarest whatever they cost.
    ///
    /// A near-duplicate shares most words, so it holds some of the rarest, and at least one of
    /// any two of them unless both were changed (which a text survives at similarity 0.8 only
    /// when both sit at its ends). A text with only common words is found only by matching more
    /// of them: then the `count` rarest are read.
    /// - Parameters:
    ///   - known: words with their item counts (each above 0).
    ///   - count: most words taken.
    ///   - budget: most items the taken words may hold together.
    public static func lookupWords(_ known: [(word: String, items: Int)], count: Int, budget: Int = .max) -> [String] {
        let rarest = known.sorted { ($0.items, $0.word) < ($1.items, $1.word) }.prefix(count)
        var chosen: [String] = []
        var items = 0
        for (word, n) in rarest {
            if items + n > budget { break }
            chosen.append(word)
            items += n
        }
        return chosen.count >= min(2, rarest.count) ? chosen : rarest.map(\.word)
    }
}
