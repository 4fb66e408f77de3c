import CJameyABI

extension JameyError {
    /// The kind of a failure: one named value for each error code of the host.
    ///
    /// A struct over a private enum, so that codes added by a later host break no `switch`:
    /// compare with `==` or match in a `switch` with a `default:` branch.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: Sendable, Hashable {
            case invalid, notFound, timeout, exists, noMemory, state, version, full, noResponders, plugin, unsupported,
                shutdown, type
            /// A code this kit does not know (from a newer host).
            case other(Int32)
        }

        private let kind: Kind

        private init(_ kind: Kind) { self.kind = kind }

        /// An argument was empty, malformed or out of range (a bad topic, pattern or message).
        public static let invalid = Code(.invalid)
        /// The named thing (service, subscription, key) does not exist.
        public static let notFound = Code(.notFound)
        /// A request got no reply within its timeout.
        public static let timeout = Code(.timeout)
        /// The name is already taken (a service already registered).
        public static let exists = Code(.exists)
        /// An allocation failed.
        public static let noMemory = Code(.noMemory)
        /// Not allowed in the current lifecycle state.
        public static let state = Code(.state)
        /// Found, but no version satisfies the requested range.
        public static let version = Code(.version)
        /// A bounded queue was full (the responder is overloaded); the message was dropped.
        public static let full = Code(.full)
        /// A request matched no subscriber.
        public static let noResponders = Code(.noResponders)
        /// A plugin failed; the message says why.
        public static let plugin = Code(.plugin)
        /// The operation is not supported by this host or plugin.
        public static let unsupported = Code(.unsupported)
        /// The kernel is shutting down.
        public static let shutdown = Code(.shutdown)
        /// A config key exists but has another type.
        public static let type = Code(.type)

        /// The code's name (`timeout`, `noResponders`, ...), or `error <n>` for a code this kit
        /// does not know.
        public var description: String {
            switch kind {
            case .invalid: "invalid"
            case .notFound: "notFound"
            case .timeout: "timeout"
            case .exists: "exists"
            case .noMemory: "noMemory"
            case .state: "state"
            case .version: "version"
            case .full: "full"
            case .noResponders: "noResponders"
            case .plugin: "plugin"
            case .unsupported: "unsupported"
            case .shutdown: "shutdown"
            case .type: "type"
            case .other(let value): "error \(value)"
            }
        }

        /// The code for a `JAMEY_E_*` value of the C ABI, for Swift code that implements a C
        /// function table. Plugin code compares named codes instead.
        /// - Parameter abiValue: a negative `JAMEY_E_*` value; a value this kit does not know
        ///   keeps its number (and ``abiValue`` returns it).
        public init(abiValue: Int32) {
            switch abiValue {
            case JAMEY_E_INVALID: kind = .invalid
            case JAMEY_E_NOT_FOUND: kind = .notFound
            case JAMEY_E_TIMEOUT: kind = .timeout
            case JAMEY_E_EXISTS: kind = .exists
            case JAMEY_E_NOMEM: kind = .noMemory
            case JAMEY_E_STATE: kind = .state
            case JAMEY_E_VERSION: kind = .version
            case JAMEY_E_FULL: kind = .full
            case JAMEY_E_NO_RESPONDERS: kind = .noResponders
            case JAMEY_E_PLUGIN: kind = .plugin
            case JAMEY_E_UNSUPPORTED: kind = .unsupported
            case JAMEY_E_SHUTDOWN: kind = .shutdown
            case JAMEY_E_TYPE: kind = .type
            default: kind = .other(abiValue)
            }
        }

        /// The `JAMEY_E_*` value of the C ABI, for Swift code that returns codes through a C
        /// function table.
        public var abiValue: Int32 {
            switch kind {
            case .invalid: JAMEY_E_INVALID
            case .notFound: JAMEY_E_NOT_FOUND
            case .timeout: JAMEY_E_TIMEOUT
            case .exists: JAMEY_E_EXISTS
            case .noMemory: JAMEY_E_NOMEM
            case .state: JAMEY_E_STATE
            case .version: JAMEY_E_VERSION
            case .full: JAMEY_E_FULL
            case .noResponders: JAMEY_E_NO_RESPONDERS
            case .plugin: JAMEY_E_PLUGIN
            case .unsupported: JAMEY_E_UNSUPPORTED
            case .shutdown: JAMEY_E_SHUTDOWN
            case .type: JAMEY_E_TYPE
            case .other(let value): value
            }
        }
    }
}

extension JameyError {
    /// The error for a failed bus operation on `topic`, with the sentence for its code.
    /// - Parameters:
    ///   - abiValue: the kernel's `JAMEY_E_*` result.
    ///   - topic: the topic or pattern involved.
    static func bus(_ abiValue: Int32, topic: String) -> JameyError {
        let code = Code(abiValue: abiValue)
        let message =
            switch code {
            case .timeout: "request to '\(topic)' timed out"
            case .noResponders: "no responder for '\(topic)'"
            case .full: "the responder for '\(topic)' is overloaded (queue full)"
            case .shutdown: "the kernel is shutting down"
            case .plugin: "the responder for '\(topic)' failed without replying"
            case .invalid: "invalid topic or message '\(topic)'"
            default: "bus error (\(code)) on '\(topic)'"
            }
        return JameyError(code, message)
    }
}
