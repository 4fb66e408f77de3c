/// The rules seeded on first start. Jamey 3.0's two defaults keep their names, descriptions and
/// weights (no-harm 10, truth 8), now with a polarity and explicit keywords; `no-deception`
/// is added so that lying lowers the score instead of going unnoticed (Σ weight = 26).
///
/// | name | polarity | weight | keywords |
/// |---|---|---|---|
/// | `no-harm` | prohibition | 10 | harm, hurt, injure, abuse |
/// | `truth` | virtue | 8 | honest, truthful |
/// | `no-deception` | prohibition | 8 | lie, deceive, manipulate, cheat |
public enum DefaultRules {
    /// The default rules, in the order above.
    public static var all: [MoralRule] {
        // The literals are valid; a failure would be a programming error caught by the tests.
        [
            try? MoralRule(
                name: "no-harm", description: "Do not cause physical or emotional harm",
                keywords: ["harm", "hurt", "injure", "abuse"], weight: 10, polarity: .prohibition),
            try? MoralRule(
                name: "truth", description: "Be honest and truthful", keywords: ["honest", "truthful"], weight: 8,
                polarity: .virtue),
            try? MoralRule(
                name: "no-deception", description: "Do not lie, deceive, manipulate or cheat",
                keywords: ["lie", "deceive", "manipulate", "cheat"], weight: 8, polarity: .prohibition),
        ].compactMap { $0 }
    }
}
