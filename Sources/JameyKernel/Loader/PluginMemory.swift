import CJameySystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Reads memory a plugin points at without trusting the pointer: every read goes through
/// `process_vm_readv` on this process, which reports an unmapped address as an error instead of
/// raising SIGSEGV. Used for everything the loader reads from a descriptor.
enum PluginMemory {
    /// How a C string read ended.
    enum Text: Equatable {
        /// The pointer was NULL.
        case null
        /// A NUL-terminated string within the limit.
        case text(String)
        /// No NUL within `limit` bytes; `prefix` holds the first bytes, for a message.
        case tooLong(prefix: String)
        /// The readable memory ended after `readable` bytes without a NUL.
        case unterminated(prefix: String, readable: Int)
        /// The pointer does not point into readable memory.
        case unreadable
    }

    /// Copies up to `count` bytes at `address`; returns fewer when readable memory ends first
    /// (none for an unmapped address).
    static func bytes(at address: UnsafeRawPointer, count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var result = [UInt8](repeating: 0, count: count)
        let n = result.withUnsafeMutableBytes { jamey_read_memory(address, $0.baseAddress, count) }
        if n == count { return result }
        if n > 0 { return Array(result.prefix(n)) }
        // A read that starts readable but crosses into an unmapped page may fail as a whole on
        // some kernels: retry page by page.
        var copied: [UInt8] = []
        var at = UInt(bitPattern: address)
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        while copied.count < count {
            let chunk = min(count - copied.count, Int(page - at % page))
            var part = [UInt8](repeating: 0, count: chunk)
            guard let pointer = UnsafeRawPointer(bitPattern: at) else { break }
            let got = part.withUnsafeMutableBytes { jamey_read_memory(pointer, $0.baseAddress, chunk) }
            guard got > 0 else { break }
            copied += part.prefix(got)
            at += UInt(got)
        }
        return copied
    }

    /// A copy of the `T` at `address`, or nil when any of its bytes is unreadable.
    /// - Parameter readable: how many bytes belong to the value in the plugin's memory when that
    ///   is fewer than `T`'s size (an element of an older ABI minor): the rest reads as zero.
    static func load<T>(_ type: T.Type, at address: UnsafeRawPointer, readable: Int = .max) -> T? {
        let size = MemoryLayout<T>.size
        let wanted = min(size, readable)
        var data = bytes(at: address, count: wanted)
        guard data.count == wanted else { return nil }
        data += [UInt8](repeating: 0, count: size - wanted)
        return data.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }

    /// Reads a NUL-terminated string of at most `limit` bytes (not counting the NUL).
    static func text(_ pointer: UnsafePointer<CChar>?, limit: Int) -> Text {
        guard let pointer else { return .null }
        let data = bytes(at: UnsafeRawPointer(pointer), count: limit + 1)
        if data.isEmpty { return .unreadable }
        if let end = data.firstIndex(of: 0) {
            return .text(String(decoding: data[..<end], as: UTF8.self))
        }
        let prefix = String(decoding: data.prefix(32), as: UTF8.self)
        return data.count == limit + 1 ? .tooLong(prefix: prefix) : .unterminated(prefix: prefix, readable: data.count)
    }

    /// A message fragment for a string that was not read: `"abc…" (more than 64 bytes)`.
    static func describe(_ result: Text, limit: Int) -> String {
        switch result {
        case .null: "NULL"
        case .text(let s): "\"\(s)\""
        case .tooLong(let prefix): "\"\(printable(prefix))…\" (more than the limit of \(limit) bytes)"
        case .unterminated(let prefix, let readable):
            "\"\(printable(prefix))…\" with no terminating NUL before readable memory ends (\(readable) bytes)"
        case .unreadable: "a pointer into unreadable memory"
        }
    }

    /// `text` with control and non-ASCII characters shown as `?`, for log lines.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
    }
}
