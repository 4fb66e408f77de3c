/// How the engine decides: the approval threshold and the negation window.
public struct ConscienceSettings: Sendable, Equatable {
    /// A text is approved when its score is at least this (−1 to 1).
    public var approvalThreshold: Double
    /// A negator flips the keyword matches among the next this many content words of the same
    /// clause (1 to 10).
    public var negationWindow: Int
    /// The longest text evaluated, in characters (Jamey 3.0's limit: 10,000).
    public var maxTextLength: Int

    /// The defaults: threshold 0 (neutral text is approved; anything net-harmful is not), window 3,
    /// 10,000 characters.
    public static let defaults = ConscienceSettings(approvalThreshold: 0, negationWindow: 3, maxTextLength: 10_000)

    /// - Parameters:
    ///   - approvalThreshold: the lowest approved score.
    ///   - negationWindow: how many content words a negator reaches.
    ///   - maxTextLength: the longest text evaluated.
    public init(approvalThreshold: Double, negationWindow: Int, maxTextLength: Int = TextCheck.defaultMaxLength) {
        self.approvalThreshold = approvalThreshold
        self.negationWindow = negationWindow
        self.maxTextLength = maxTextLength
    }
}
