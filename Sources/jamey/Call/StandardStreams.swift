#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Writes to standard output by file descriptor (the C `stdout` global is not concurrency-safe).
enum StandardOutput {
    /// Whether standard output is a terminal.
    static var isTerminal: Bool { isatty(1) == 1 }

    /// Writes every byte of `bytes` (stops quietly when the reader has gone, e.g. `| head`).
    static func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// Writes `text` and a newline.
    static func line(_ text: String) { write(Array((text + "\n").utf8)) }
}
