import JameyIsolationWire

/// An error from the ``MessageBus``.
///
/// Compare kinds through ``code`` (`error.code == .timeout`) or compare whole values
/// (`error == .timeout`, `error == .invalidTopic("a..b")`). New kinds may be added later without
/// breaking anyone, which is why this is a struct and not an enum.
public struct BusError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of a ``BusError``.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: Sendable, Hashable {
            case invalidTopic
            case invalidPattern
            case timeout
            case noResponders
            case queueFull
            case shutdown
            case notFound
            case handlerFailed
        }

        private let kind: Kind

        private init(_ kind: Kind) { self.kind = kind }

        /// A topic is malformed, or has wildcards where a concrete topic is required.
        public static let invalidTopic = Code(.invalidTopic)
        /// A subscription pattern is malformed.
        public static let invalidPattern = Code(.invalidPattern)
        /// A request got no reply before its deadline.
        public static let timeout = Code(.timeout)
        /// No subscription matches a request's topic.
        public static let noResponders = Code(.noResponders)
        /// The responder's queue is full (or the queued request was evicted to make room).
        public static let queueFull = Code(.queueFull)
        /// The bus is shutting down or has shut down.
        public static let shutdown = Code(.shutdown)
        /// The subscription, or the request being replied to, does not exist (any more).
        public static let notFound = Code(.notFound)
        /// The responder's handler returned an error and had not replied.
        public static let handlerFailed = Code(.handlerFailed)

        /// The kind's name, e.g. `timeout`.
        public var description: String {
            switch kind {
            case .invalidTopic: "invalidTopic"
            case .invalidPattern: "invalidPattern"
            case .timeout: "timeout"
            case .noResponders: "noResponders"
            case .queueFull: "queueFull"
            case .shutdown: "shutdown"
            case .notFound: "notFound"
            case .handlerFailed: "handlerFailed"
            }
        }
    }

    /// The kind of error.
    public let code: Code
    /// The topic or pattern that was rejected, for ``Code/invalidTopic`` and
    /// ``Code/invalidPattern``; `nil` otherwise.
    public let subject: String?

    private init(_ code: Code, subject: String? = nil) {
        self.code = code
        self.subject = subject
    }

    /// The topic `topic` is malformed or not concrete.
    /// - Parameter topic: The rejected topic, as given.
    public static func invalidTopic(_ topic: String) -> BusError { BusError(.invalidTopic, subject: topic) }
    /// The subscription pattern `pattern` is malformed.
    /// - Parameter pattern: The rejected pattern, as given.
    public static func invalidPattern(_ pattern: String) -> BusError { BusError(.invalidPattern, subject: pattern) }
    /// A request got no reply before its deadline.
    public static let timeout = BusError(.timeout)
    /// No subscription matches the request's topic.
    public static let noResponders = BusError(.noResponders)
    /// The responder's queue is full.
    public static let queueFull = BusError(.queueFull)
    /// The bus is shutting down or has shut down.
    public static let shutdown = BusError(.shutdown)
    /// The subscription or pending request does not exist (any more).
    public static let notFound = BusError(.notFound)
    /// The responder's handler returned an error without replying: the request is answered with
    /// this at once instead of waiting out its timeout.
    public static let handlerFailed = BusError(.handlerFailed)

    /// A sentence saying what went wrong and, for malformed topics and patterns, why.
    public var description: String {
        switch code {
        case .invalidTopic:
            let topic = subject ?? ""
            let why = TopicSyntax.topicProblem(topic) ?? "it is not a valid topic"
            return "invalid topic '\(topic)': \(why)"
        case .invalidPattern:
            let pattern = subject ?? ""
            let why = TopicSyntax.patternProblem(pattern) ?? "it is not a valid pattern"
            return "invalid subscription pattern '\(pattern)': \(why)"
        case .timeout: return "the request timed out before a reply arrived"
        case .noResponders: return "no subscription answers requests on this topic"
        case .queueFull: return "the responder's queue is full"
        case .shutdown: return "the message bus is shut down"
        case .notFound: return "not found: the subscription or request is gone (unknown, answered or timed out)"
        case .handlerFailed: return "the responder's handler failed without replying"
        default: return "bus error \(code)"
        }
    }
}
