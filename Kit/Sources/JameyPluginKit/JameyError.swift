/// An error from the host (bus, services, lifecycle) or a plugin, with a code a plugin can match
/// on and a sentence an operator can act on.
///
/// ```swift
/// do {
///     let reply = try await context.bus.request("memory.items.search", .json(query))
/// } catch let error as JameyError where error.code == .noResponders {
///     // nothing serves the topic
/// }
/// ```
public struct JameyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a code that can be compared (`error.code == .timeout`).
    public let code: Code
    /// One sentence saying what failed, for logs and error replies.
    public let message: String

    /// An error with a code and a sentence.
    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - message: one sentence saying what failed.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A plugin's own failure (code ``Code/plugin``) with one sentence.
    /// - Parameter message: one sentence saying what failed.
    public init(_ message: String) {
        self.init(.plugin, message)
    }

    /// The message.
    public var description: String { message }
}

/// The error type of earlier kit versions: an error raised by the kit or a plugin, with a
/// sentence. `PluginKitError("...")` makes a ``JameyError`` with code ``JameyError/Code/plugin``.
public typealias PluginKitError = JameyError

/// The error type the bus threw in earlier kit versions; bus operations throw ``JameyError``.
public typealias BusFailure = JameyError

extension JameyError {
    /// No reply within the timeout.
    @available(*, deprecated, message: "compare the code: error.code == .timeout")
    public var isTimeout: Bool { code == .timeout }

    /// No subscriber matched the request.
    @available(*, deprecated, message: "compare the code: error.code == .noResponders")
    public var isNoResponders: Bool { code == .noResponders }
}
