import CJameyABI
import Logging

/// A swift-log handler that forwards to the kernel's log through the ABI, so a plugin's lines
/// carry its name and follow the kernel's level and format. Metadata goes as the line's fields
/// (`log_fields`, ABI 1.5: members of a JSON line, `key=value` after a text line's message,
/// keys sorted); to a kernel without it, appended to the message as `key=value`.
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
        let level = Self.abi(event.level)
        if !merged.isEmpty {
            let fields = merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value.description) }
            if handle.log(level: level, text, fields: fields) { return }
            text += " " + fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        }
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

extension HostHandle {
    /// Whether the host has `log_fields` (ABI 1.5): `JAMEY_HOST_HAS(api, log_fields)`.
    var hasLogFields: Bool {
        guard let offset = MemoryLayout<jamey_host_api>.offset(of: \.log_fields) else { return false }
        return Int(api.pointee.struct_size) >= offset + MemoryLayout<UnsafeRawPointer?>.size && api.pointee.log_fields != nil
    }

    /// Writes `message` with `fields` through `log_fields`, in their order.
    /// - Returns: false when the host has no `log_fields` (nothing was written).
    func log(level: Int32, _ message: String, fields: [(String, String)]) -> Bool {
        guard hasLogFields, let logFields = api.pointee.log_fields else { return false }
        // Every key (NUL-terminated) and value in one buffer, so one scope holds their addresses;
        // the field list on the stack (an access-log line per request passes through here).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 1 })
        for (key, value) in fields {
            bytes += key.utf8
            bytes.append(0)
            bytes += value.utf8
        }
        var message = message
        withUnsafeTemporaryAllocation(of: jamey_log_field.self, capacity: fields.count) { list in
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { all in
                    var at = 0
                    for (i, (key, value)) in fields.enumerated() {
                        let keyAt = at
                        at += key.utf8.count + 1
                        let length = value.utf8.count
                        list.initializeElement(
                            at: i,
                            to: jamey_log_field(key: all.baseAddress! + keyAt, value: all.baseAddress! + at, value_len: length))
                        at += length
                    }
                    message.withUTF8 { text in
                        text.withMemoryRebound(to: CChar.self) {
                            logFields(host, level, $0.baseAddress, $0.count, list.baseAddress, fields.count)
                        }
                    }
                }
            }
            _ = list.deinitialize()
        }
        return true
    }
}
