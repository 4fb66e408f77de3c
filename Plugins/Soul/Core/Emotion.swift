/// An emotion the soul counts per entity, with its empathy weight.
///
/// Jamey 3.0's seven types, plus Sadness and Anger (its README's two, below Worry's 0.3, so the
/// trust penalty of an empathy under 0.3 can happen), plus `General(label)` for anything else.
///
/// | emotion | weight | | emotion | weight |
/// |---|---|---|---|---|
/// | PaternalLove | 1.0 | | Focus | 0.4 |
/// | Joy | 0.8 | | Worry | 0.3 |
/// | Pride | 0.7 | | Sadness | 0.2 |
/// | ProtectiveConcern | 0.6 | | Anger | 0.1 |
/// | Calm | 0.5 | | General(label) | 0.5 |
public enum Emotion: Sendable, Hashable, Comparable, CustomStringConvertible {
    case paternalLove, joy, pride, protectiveConcern, calm, focus, worry, sadness, anger
    /// Any other emotion, by its label (1 to 64 characters).
    case general(String)

    /// The named emotions, highest weight first (the order used to break ties).
    public static let named: [Emotion] = [
        .paternalLove, .joy, .pride, .protectiveConcern, .calm, .focus, .worry, .sadness, .anger,
    ]

    /// The empathy weight in [0.1, 1].
    public var weight: Double { Double(tenths) / 10 }

    /// The weight in tenths (1 to 10), so sums of weights are exact.
    public var tenths: Int {
        switch self {
        case .paternalLove: 10
        case .joy: 8
        case .pride: 7
        case .protectiveConcern: 6
        case .calm: 5
        case .focus: 4
        case .worry: 3
        case .sadness: 2
        case .anger: 1
        case .general: 5
        }
    }

    /// The stored and JSON form: `PaternalLove`, `Joy`, ..., `General(label)` (Jamey 3.0's).
    public var description: String {
        switch self {
        case .paternalLove: "PaternalLove"
        case .joy: "Joy"
        case .pride: "Pride"
        case .protectiveConcern: "ProtectiveConcern"
        case .calm: "Calm"
        case .focus: "Focus"
        case .worry: "Worry"
        case .sadness: "Sadness"
        case .anger: "Anger"
        case .general(let label): "General(\(label))"
        }
    }

    /// Position in the tie-break order: named emotions first, by weight, then general ones.
    var rank: Int { Self.named.firstIndex(of: self) ?? Self.named.count }

    public static func < (a: Emotion, b: Emotion) -> Bool {
        (a.rank, a.description) < (b.rank, b.description)
    }

    /// Reads back the stored form (`description`). It takes no input limits: `General(label)` is
    /// 9 code points longer than the label, so a label of 56 to 64 code points, accepted on the
    /// way in, would fail `init(parsing:)`'s 64 on the way out and leave its entity unreadable.
    public init(stored text: String) {
        if let named = Self.named.first(where: { $0.description == text }) {
            self = named
            return
        }
        // By code points: `hasPrefix` compares Characters, and a label that begins with a
        // combining mark joins the "(" into one Character with it, so "General(\u{301}abc)" did
        // not have the prefix and was read back as a label wrapped twice.
        let scalars = text.unicodeScalars
        if scalars.starts(with: "General(".unicodeScalars), scalars.last == ")", scalars.count > 9 {
            self = .general(String(String.UnicodeScalarView(scalars.dropFirst(8).dropLast())))
            return
        }
        self = (try? Emotion(parsing: text)) ?? .general(text)
    }

    /// Reads an emotion the way Jamey 3.0's `soul record` did, and a little wider: the stored
    /// form (`PaternalLove`, `General(x)`), any case, or the CLI words `love`, `joy`, `pride`,
    /// `protect`, `calm`, `focus`, `worry`, plus `sad`/`sadness`, `anger`/`angry`; anything
    /// else is `General(text)`.
    /// - Throws: ``SoulError`` `.invalid` naming `emotion` for an empty, over-long (> 64
    ///   characters) or control-character text.
    public init(parsing raw: String) throws(SoulError) {
        let text = raw.trimmingSpaces
        guard !text.isEmpty else { throw SoulError(.invalid, "emotion: expected a name such as joy or love, found nothing") }
        guard raw.codePoints <= 64 else {
            throw SoulError(.invalid, "emotion: expected at most 64 characters, found \(raw.codePoints)")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw SoulError(.invalid, "emotion: control characters are not allowed")
        }
        switch text.lowercased() {
        case "paternallove", "love": self = .paternalLove
        case "joy": self = .joy
        case "pride": self = .pride
        case "protectiveconcern", "protect": self = .protectiveConcern
        case "calm": self = .calm
        case "focus": self = .focus
        case "worry": self = .worry
        case "sadness", "sad": self = .sadness
        case "anger", "angry": self = .anger
        default:
            if text.hasPrefix("General("), text.hasSuffix(")"), text.count > 9 {
                self = .general(String(text.dropFirst(8).dropLast()))
            } else {
                self = .general(text)
            }
        }
    }
}

extension String {
    /// The string without leading and trailing whitespace: code points with Unicode's White_Space
    /// property, as the route schemas' patterns count them (a space followed by a combining mark
    /// keeps the mark).
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    /// The length in code points, as a JSON Schema's `maxLength` counts it.
    var codePoints: Int { unicodeScalars.count }
}
