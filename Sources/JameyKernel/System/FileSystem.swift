#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Small POSIX file helpers the kernel needs without pulling in Foundation's FileManager.
enum FileSystem {
    /// `mkdir -p` with `mode` for the directories it creates; true when the directory exists after.
    static func makeDirectories(_ path: String, mode: mode_t = 0o755) -> Bool {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST { return false }
        }
        return isDirectory(path)
    }

    /// Why `path` could not serve as a directory to write in, without creating it; nil when it
    /// could: an existing writable directory, or a missing path whose nearest existing ancestor
    /// is a writable directory.
    static func whyNotWritableDirectory(_ path: String) -> String? {
        var info = stat()
        if stat(path, &info) != 0, lstat(path, &info) == 0 {
            return "is a symbolic link to nothing"
        }
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { return "is not a directory" }
            return access(path, W_OK | X_OK) == 0 ? nil : "is not writable: \(String(cString: strerror(errno)))"
        }
        var ancestor = path.hasPrefix("/") ? path : "./" + path
        while let slash = ancestor.lastIndex(of: "/") {
            ancestor = slash == ancestor.startIndex ? "/" : String(ancestor[..<slash])
            guard stat(ancestor, &info) == 0 else {
                if ancestor == "/" { break }
                continue
            }
            guard (info.st_mode & S_IFMT) == S_IFDIR else { return "cannot be created: \(ancestor) is not a directory" }
            return access(ancestor, W_OK | X_OK) == 0
                ? nil : "cannot be created in \(ancestor): \(String(cString: strerror(errno)))"
        }
        return nil
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func readText(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes atomically (temp file + rename) with `mode`.
    static func writeText(_ path: String, _ text: String, mode: mode_t = 0o644) -> Bool {
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { return false }
        let ok = text.utf8CString.withUnsafeBufferPointer { buf in
            write(fd, buf.baseAddress, buf.count - 1) == buf.count - 1
        }
        fsync(fd)
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            return false
        }
        return true
    }

    /// Absolute form of `path`, resolved against `base` when relative.
    static func absolute(_ path: String, base: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        return normalize(base + "/" + path)
    }

    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for p in path.split(separator: "/") {
            if p == "." { continue }
            if p == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(p)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func currentDirectory() -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return "/" }
        return String(cBuffer: buf)
    }

    /// Directory holding the running executable (`/proc/self/exe`).
    static func executableDirectory() -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return currentDirectory() }
        buf[n] = 0
        let path = String(cBuffer: buf)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }

    /// Names of the entries in a directory.
    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
