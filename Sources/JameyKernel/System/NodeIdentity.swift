#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The node's stable id: a random UUID kept in `<data_dir>/node-id`.
enum NodeIdentity {
    static func load(dataDirectory: String) throws(KernelError) -> String {
        let path = dataDirectory + "/node-id"
        if let text = FileSystem.readText(path) {
            let id = text.trimmingWhitespace()
            if id.count == 36 { return id }
        } else if errno != ENOENT {
            // Not "missing": writing a new id would lose the node's identity, or fail with a
            // misleading "cannot write".
            throw KernelError("cannot read node id file \(path): \(String(cString: strerror(errno)))")
        }
        let id = randomUUID()
        guard FileSystem.writeText(path, id + "\n", mode: 0o644) else {
            throw KernelError("cannot write node id file \(path): \(String(cString: strerror(errno)))")
        }
        return id
    }

    /// The id kept in `dataDirectory`, or nil when there is none yet; writes nothing.
    static func existing(dataDirectory: String) -> String? {
        let id = FileSystem.readText(dataDirectory + "/node-id")?.trimmingWhitespace()
        return id?.count == 36 ? id : nil
    }

    /// A version 4 UUID from the kernel's random source.
    static func randomUUID() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 16) }
            close(fd)
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { b in String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }
        return hex[0..<4].joined() + "-" + hex[4..<6].joined() + "-" + hex[6..<8].joined() + "-" + hex[8..<10].joined()
            + "-" + hex[10..<16].joined()
    }
}
