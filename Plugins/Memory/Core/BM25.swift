import Foundation
import Synchronization

/// FTS5's `bm25()` for a one-term query, computed outside SQLite so that a search can rank
/// impact-ordered postings (``TermCounts``) exactly as FTS5 would rank the same rows.
///
/// FTS5 (`fts5_aux.c`): `idf = ln((N − n + 0.5) / (n + 0.5))`, at least 1e−6, with `N` the rows
/// in the index and `n` the rows holding the term; a row of `D` tokens holding it `f` times
/// scores `−idf · f·(k1 + 1) / (f + k1·(1 − b + b·D/avgdl))` with `k1 = 1.2`, `b = 0.75` and
/// `avgdl` the index's tokens per row. The arithmetic below follows FTS5's order of operations,
/// so the values are the same doubles.
public enum BM25 {
    /// FTS5's `k1`.
    public static let k1 = 1.2
    /// FTS5's `b`.
    public static let b = 0.75

    /// The inverse document frequency FTS5 uses.
    /// - Parameters:
    ///   - rows: rows in the index (`N`).
    ///   - hits: rows holding the term (`n`).
    public static func idf(rows: Int64, hits: Int64) -> Double {
        let idf = log((Double(rows) - Double(hits) + 0.5) / (Double(hits) + 0.5))
        return idf <= 0 ? 1e-6 : idf
    }

    /// The (positive) impact of a row: `−bm25`.
    /// - Parameters:
    ///   - idf: ``idf(rows:hits:)`` of the term.
    ///   - frequency: occurrences of the term in the row (`f`).
    ///   - length: tokens in the row (`D`).
    ///   - averageLength: tokens per row in the index (`avgdl`).
    public static func impact(idf: Double, frequency: Int, length: Int, averageLength: Double) -> Double {
        let f = Double(frequency)
        var score = 0.0
        score += idf * ((f * (k1 + 1.0)) / (f + k1 * (1 - b + b * Double(length) / averageLength)))
        return score
    }

    /// FTS5's `bm25()` value for an impact (negative; more negative is more relevant).
    public static func rank(impact: Double) -> Double { -1.0 * impact }

    /// Reads one SQLite varint (the encoding of FTS5's `_data` and `_docsize` records).
    /// - Parameters:
    ///   - bytes: the record.
    ///   - offset: where the varint starts; moved past it.
    /// - Returns: the value, or nil when the record ends first.
    public static func varint(_ bytes: [UInt8], at offset: inout Int) -> Int64? {
        var value: UInt64 = 0
        for i in 0..<9 {
            guard offset < bytes.count else { return nil }
            let byte = bytes[offset]
            offset += 1
            if i == 8 { return Int64(bitPattern: (value << 8) | UInt64(byte)) }
            value = (value << 7) | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 { return Int64(bitPattern: value) }
        }
        return Int64(bitPattern: value)
    }
}

/// The terms of a text as FTS5's `unicode61 remove_diacritics 2` tokenizer indexes them, with
/// how often each occurs and how many tokens the text has.
///
/// ASCII text splits exactly as FTS5 splits it: runs of letters and digits, lower-cased. Other
/// text goes through ``tokenizer`` when one is installed (the memory plugin installs SQLite's
/// own FTS5 tokenizer: the split is then FTS5's exactly too, ``countsExact``); without one it
/// follows the tokenizer's rules as far as Swift's Unicode properties allow (letters, numbers
/// and private-use characters make tokens, combining marks continue them; case and diacritics
/// are folded), and the store then takes the token count from FTS5 itself.
public struct TermCounts: Sendable, Equatable {
    /// Occurrences per term.
    public var counts: [String: Int] = [:]
    /// Tokens in the text.
    public var length = 0
    /// True when the text is ASCII: its terms are its words (``FTSQuery/words(_:)``) and the
    /// split is FTS5's exactly.
    public var isExact = true
    /// True when the terms and the length are FTS5's (ASCII text, or ``tokenizer`` did the split).
    public var countsExact = true

    /// Splits non-ASCII text as FTS5's `unicode61 remove_diacritics 2` does (nil: it could not).
    public typealias Tokenizer = @Sendable (String) -> [String]?

    private static let installed = Mutex<Tokenizer?>(nil)

    /// The tokenizer for non-ASCII text (nil: Swift's approximation).
    public static var tokenizer: Tokenizer? {
        get { installed.withLock { $0 } }
        set { installed.withLock { $0 = newValue } }
    }

    /// The FTS5 terms of one query word: the word itself when it is plain ASCII, else what
    /// ``tokenizer`` makes of it (nil without one, or when it fails).
    public static func terms(ofWord word: String) -> [String]? {
        if isPlainASCII(word) { return [word] }
        return tokenizer?(word)
    }

    /// Counts the terms of `text`.
    public init(_ text: String) {
        var utf8 = Array(text.utf8)
        if utf8.allSatisfy({ $0 < 0x80 }) {
            // About one term per six bytes of text: room for them at once, not grown by doubling.
            counts.reserveCapacity(utf8.count / 6 + 1)
            var start = -1
            for i in 0...utf8.count {
                if i < utf8.count, let byte = FTSQuery.asciiWordByte(utf8[i]) {
                    utf8[i] = byte
                    if start < 0 { start = i }
                } else if start >= 0 {
                    add(String(decoding: utf8[start..<i], as: UTF8.self))
                    start = -1
                }
            }
            return
        }
        isExact = false
        if let tokens = Self.tokenizer?(text) {
            for token in tokens { add(token) }
            return
        }
        countsExact = false
        var current = String.UnicodeScalarView()
        func flush() {
            guard !current.isEmpty else { return }
            let folded = String(current).folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
            add(folded.lowercased())
            current = String.UnicodeScalarView()
        }
        for scalar in text.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber,
                .letterNumber, .otherNumber, .privateUse:
                current.append(scalar)
            case .nonspacingMark where !current.isEmpty:
                current.append(scalar)
            default:
                flush()
            }
        }
        flush()
    }

    /// The terms of each text, in order. A batch of at least ``parallelBatch`` texts is split
    /// into one child task per core (a store's batch is counted before the writer's lock is
    /// taken, and the client waits for it: 4-5 ms for 1 000 items on one core). Child tasks,
    /// not `concurrentPerform`: nothing blocks a thread of the cooperative pool.
    public static func counting(_ texts: [String]) async -> [TermCounts] {
        guard texts.count >= parallelBatch, cores > 1 else { return texts.map(TermCounts.init) }
        let chunks = min(cores, texts.count / (parallelBatch / 2))
        let parts = await withTaskGroup(of: (Int, [TermCounts]).self) { group in
            for chunk in 0..<chunks {
                let range = (texts.count * chunk / chunks)..<(texts.count * (chunk + 1) / chunks)
                group.addTask { (chunk, texts[range].map(TermCounts.init)) }
            }
            var parts = [[TermCounts]](repeating: [], count: chunks)
            for await (chunk, counted) in group { parts[chunk] = counted }
            return parts
        }
        return Array(parts.joined())
    }

    /// The smallest batch ``counting(_:)`` splits across cores.
    public static let parallelBatch = 128

    /// The cores this process may use, read once: on Linux `activeProcessorCount` reads the
    /// cgroup's CPU quota from files on every call (about 22 µs here, opening, reading and closing
    /// them), which every store paid before its terms were counted.
    static let cores = ProcessInfo.processInfo.activeProcessorCount

    private mutating func add(_ term: String) {
        counts[term, default: 0] += 1
        length += 1
    }

    /// True when `word` (a plain query word) is a term FTS5 would look up unchanged and this
    /// type splits exactly: lower-case ASCII letters and digits.
    public static func isPlainASCII(_ word: String) -> Bool {
        !word.isEmpty && word.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) }
    }
}

/// The best `capacity` candidates by impact, kept while postings stream in (a bounded
/// selection; ties keep the earlier one).
public struct TopImpacts: Sendable {
    /// Most candidates kept.
    public let capacity: Int
    /// The kept candidates, best first: (row, impact).
    public private(set) var best: [(seq: Int64, impact: Double)] = []

    /// - Parameter capacity: most candidates kept (≥ 1).
    public init(capacity: Int) { self.capacity = max(1, capacity) }

    /// True when a candidate of this impact could still enter.
    public func admits(_ impact: Double) -> Bool { best.count < capacity || impact > best[best.count - 1].impact }

    /// Offers a candidate.
    public mutating func offer(seq: Int64, impact: Double) {
        guard admits(impact) else { return }
        var lo = 0
        var hi = best.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if best[mid].impact >= impact { lo = mid + 1 } else { hi = mid }
        }
        best.insert((seq, impact), at: lo)
        if best.count > capacity { best.removeLast() }
    }
}
