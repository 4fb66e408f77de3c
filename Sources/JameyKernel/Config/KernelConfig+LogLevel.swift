extension KernelConfig {
    /// A log level (`log.level`), named as in swift-log: build a `Logger.Level` from
    /// ``rawValue``.
    public struct LogLevel: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The level's name, such as `info`.
        public let rawValue: String

        /// The level named `rawValue`, or `nil` when there is no such level.
        ///
        /// - Parameter rawValue: a level name.
        public init?(rawValue: String) {
            guard Self.names.contains(rawValue) else { return nil }
            self.rawValue = rawValue
        }

        private init(_ name: String) { rawValue = name }

        private static let names = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

        /// `trace`
        public static let trace = LogLevel("trace")
        /// `debug`
        public static let debug = LogLevel("debug")
        /// `info`
        public static let info = LogLevel("info")
        /// `notice`
        public static let notice = LogLevel("notice")
        /// `warning`
        public static let warning = LogLevel("warning")
        /// `error`
        public static let error = LogLevel("error")
        /// `critical`
        public static let critical = LogLevel("critical")

        /// Every level, most verbose first.
        public static var allCases: [LogLevel] { names.map(LogLevel.init) }

        /// The level's name.
        public var description: String { rawValue }
    }

    /// A log output format (`log.format`).
    public struct LogFormat: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The format's name, such as `text`.
        public let rawValue: String

        /// The format named `rawValue`, or `nil` when there is no such format.
        ///
        /// - Parameter rawValue: a format name.
        public init?(rawValue: String) {
            guard Self.names.contains(rawValue) else { return nil }
            self.rawValue = rawValue
        }

        private init(_ name: String) { rawValue = name }

        private static let names = ["text", "json"]

        /// Human-readable lines.
        public static let text = LogFormat("text")
        /// One JSON object per line.
        public static let json = LogFormat("json")

        /// Every format.
        public static var allCases: [LogFormat] { names.map(LogFormat.init) }

        /// The format's name.
        public var description: String { rawValue }
    }
}
