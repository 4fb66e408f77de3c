/// The soul plugin's config section (`plugins.soul.config`), validated against the manifest.
public struct SoulConfiguration: Decodable, Sendable {
    /// How long to wait for the conscience plugin's evaluation, in milliseconds (default 1000).
    var conscienceTimeoutMs: Int
}
