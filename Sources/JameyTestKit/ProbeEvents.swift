import Foundation

/// The file the lifecycle events of probe plugins go to (``CPluginSource/eventLog``): each hook
/// appends a line such as `init alpha` or `check alpha`.
public struct ProbeEvents: Sendable {
    /// The file, in a directory of its own.
    public let path: String

    public init(prefix: String = "jamey-events") throws { path = try TemporaryDirectory.make(prefix: prefix) + "/events.log" }

    /// The events so far, in order; the health hook's (called in the background at any time)
    /// only when `health` is set.
    public func read(health: Bool = false) -> [String] {
        let lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        return health ? lines : lines.filter { !$0.hasPrefix("health") }
    }
}
