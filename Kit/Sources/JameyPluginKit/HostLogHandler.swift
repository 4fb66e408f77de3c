import CJameyABI
import Logging

/// A swift-log handler that forwards to the kernel's log through the ABI, so a plugin's lines
/// carry its name and follow the kernel's level and format. Metadata is appended as `key=value`.
public struct HostLogHandler: LogHandler {
    let handle: HostHandle
    /// Metadata added to every line.
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata.
    public var metadataProvider: Logger.MetadataProvider?
    private var explicitLevel: Logger.Level?

    init(handle: HostHandle) { self.handle = handle }

    /// Defaults to the kernel's current level.
    public var logLevel: Logger.Level {
        get { explicitLevel ?? Self.level(handle.api.pointee.log_level(handle.host)) }
        set { explicitLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var text = event.message.description
        if !merged.isEmpty {
            text += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        let level = Self.abi(event.level)
        text.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { handle.api.pointee.log(handle.host, level, $0.baseAddress, $0.count) }
        }
    }

    static func abi(_ level: Logger.Level) -> Int32 {
        switch level {
        case .trace: 0
        case .debug: 1
        case .info: 2
        case .notice: 3
        case .warning: 4
        case .error: 5
        case .critical: 6
        }
    }

    static func level(_ abi: Int32) -> Logger.Level {
        switch abi {
        case ..<1: .trace
        case 1: .debug
        case 2: .info
        case 3: .notice
        case 4: .warning
        case 5: .error
        default: .critical
        }
    }
}
