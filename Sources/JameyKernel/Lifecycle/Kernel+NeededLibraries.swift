import CJameyABI
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension Kernel {
    /// Refuses a build whose own dependencies another user could supply: `dlopen` also loads the
    /// libraries the build needs (`DT_NEEDED`) that the process does not have yet, searching the
    /// build's run path (`DT_RUNPATH`, or `DT_RPATH`) first, so a run path into a directory
    /// others may write (or create) let them run code in the server through a build that itself
    /// passed ``checkOwnership(of:final:)``.
    ///
    /// For each needed library not loaded already (`dlopen` with `RTLD_NOLOAD`): every run-path
    /// directory is walked as the build's path is, and must not be writable by others even if
    /// sticky (anyone could create the missing name there); the file the loader would take from
    /// it is walked as the build is, and its own needs are examined in turn (eight levels deep).
    /// `$ORIGIN` is the build's real directory; a run path with another substitution (`$LIB`,
    /// `$PLATFORM`) or a relative one (to the server's working directory) is refused. Libraries
    /// found elsewhere (the system's directories, through `ld.so.cache`) are root's to keep.
    static func checkNeededLibraries(of path: String) throws(KernelError) {
        var seen: Set<String> = []
        try checkNeededLibraries(of: path, depth: 0, seen: &seen)
    }

    private static func checkNeededLibraries(of path: String, depth: Int, seen: inout Set<String>) throws(KernelError) {
        guard depth < 8, let resolved = realpath(path, nil) else { return }
        let real = String(cString: resolved)
        free(resolved)
        guard seen.insert(real).inserted, let dynamic = ELFDynamic.read(path: real) else { return }
        let missing = dynamic.needed.filter { name in
            guard !name.contains("/"), let handle = dlopen(name, RTLD_LAZY | RTLD_NOLOAD) else { return true }
            dlclose(handle)
            return false
        }
        guard !missing.isEmpty else { return }
        let origin = String(real[..<(real.lastIndex(of: "/") ?? real.startIndex)])
        var directories: [String] = []
        for entry in dynamic.searchPath {
            let expanded = entry.replacingOccurrences(of: "${ORIGIN}", with: origin).replacingOccurrences(
                of: "$ORIGIN", with: origin)
            guard !expanded.contains("$") else {
                throw KernelError(
                    "\(real) has the run path '\(entry)', with a substitution this check cannot follow; it needs \(missing.joined(separator: ", ")), which the loader would search for there",
                    code: JAMEY_E_INVALID)
            }
            guard expanded.hasPrefix("/") else {
                throw KernelError(
                    "\(real) has the relative run path '\(entry)' (relative to the server's working directory); it needs \(missing.joined(separator: ", ")), which the loader would search for there: use an absolute path or $ORIGIN",
                    code: JAMEY_E_INVALID)
            }
            directories.append(expanded)
        }
        for directory in directories { try checkOwnership(of: directory, final: .searchDirectory) }
        for name in missing {
            let candidates = name.contains("/") ? (name.hasPrefix("/") ? [name] : []) : directories.map { $0 + "/" + name }
            guard let found = candidates.first(where: { access($0, F_OK) == 0 }) else { continue }
            try checkOwnership(of: found, final: .neededLibrary)
            try checkNeededLibraries(of: found, depth: depth + 1, seen: &seen)
        }
    }
}
