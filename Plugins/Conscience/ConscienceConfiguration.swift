import ConscienceCore

/// The conscience plugin's config section (`plugins.conscience.config`), decoded after the kernel
/// validated it against ``ConsciencePlugin/manifest`` (every key present, defaults filled in).
public struct ConscienceConfiguration: Decodable, Sendable {
    /// A text is approved when its score is at least this (−1 to 1; default 0).
    var approvalThreshold: Double
    /// How many content words after a negator it flips (default 3).
    var negationWindow: Int
    /// The longest text evaluated, in characters (default 10,000, Jamey 3.0's limit).
    var maxTextLength: Int
    /// Recording evaluations in the memory plugin's short-term layer.
    var memory: Memory

    /// Recording evaluations in memory.
    struct Memory: Decodable, Sendable {
        /// Send each evaluation to `memory.items.store` (skipped silently when nothing answers).
        var record: Bool
        /// How long to wait for the memory plugin's answer.
        var timeoutMs: Int
        /// Also record the evaluations of callers holding only a read key (off: they are
        /// evaluated, not recorded, so a read-only caller cannot push others' items out of
        /// `short_term`, whose capacity drops the oldest).
        var recordReadCallers: Bool
    }

    /// The engine settings these values describe.
    var settings: ConscienceSettings {
        ConscienceSettings(approvalThreshold: approvalThreshold, negationWindow: negationWindow, maxTextLength: maxTextLength)
    }
}
