import CJameyABI
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension Kernel {
    /// Replaces a running plugin with a new build, blue-green: the new library is loaded, checked
    /// against the plugin's current config and its dependents' requirements, initialised and
    /// started beside the old instance; bus routing moves to it (the old instance's subscriptions
    /// are taken out of routing and finish what they have queued and running), service lookups
    /// find its tables, HTTP routes follow (they are bus requests); then the old instance stops.
    ///
    /// Dependents of the plugin hold the old instance's service tables, so they are stopped
    /// before the old instance stops and started again afterwards (they look the tables up
    /// anew). While both instances run, both receive events; a request goes to one of them.
    /// A new build that fails to load, validate or start leaves the old one serving, untouched.
    /// The old library stays mapped (a plugin is never unmapped).
    ///
    /// - Parameters:
    ///   - name: the plugin's config name.
    ///   - path: the new build's library, an absolute path.
    ///   - progress: receives each step as a line.
    /// - Returns: every step taken.
    /// - Throws: `KernelError`: JAMEY_E_INVALID (the path, the library or the config does not
    ///   fit; nothing changed), JAMEY_E_STATE (the plugin is not started), JAMEY_E_NOT_FOUND,
    ///   JAMEY_E_PLUGIN (the new build did not start: the old one goes on), JAMEY_E_SHUTDOWN.
    @discardableResult
    public func deploy(plugin name: String, path: String, progress: (String) -> Void = { _ in }) throws(KernelError)
        -> [String]
    {
        try lifecycleLock.withLock { _ throws(KernelError) in
            try refuseWhileStarting("deploy of '\(name)'")
            let old = try replaceableRecord(name)
            var steps: [String] = []
            func step(_ line: String) {
                logger.notice("deploy of \(name): \(line)")
                steps.append(line)
                progress(line)
            }
            let (fresh, from, to) = try startBeside(old, path: path, step: step)
            try completeSwap(old: old, fresh: fresh, to: to, from: from, step: step)
            return steps
        }
    }

    /// Loads, checks, initialises and starts the new build of `old`'s plugin as a second
    /// instance, beside the running one.
    /// - Returns: the new instance's record and the old and new versions as text.
    /// - Throws: `KernelError` when the build does not fit or does not start (nothing changed).
    func startBeside(_ old: PluginRecord, path: String, step: (String) -> Void) throws(KernelError)
        -> (fresh: PluginRecord, from: String, to: String)
    {
        let name = old.name
        guard let oldLibrary = old.library else {
            throw KernelError("plugin '\(name)' has no library loaded", code: JAMEY_E_STATE)
        }
        let (library, section) = try prepareDeploy(old, path: path)
        let instanceNumber = deployGenerations.withLock { g in
            g[name, default: 1] += 1
            return g[name]!
        }
        let fresh = PluginRecord(entry: old.entry, instance: "\(name)@\(instanceNumber)")
        fresh.with { m in
            m.library = library
            m.path = path
            m.config = section
        }
        let from = "\(oldLibrary.descriptor.version) (\(old.with { $0.path } ?? "?"))"
        let to = "\(library.descriptor.version) (\(path))"
        step("starting \(to) beside \(from)")
        do throws(StartFailure) {
            try initAndStart(fresh) { handOver(from: old, to: fresh, step: step) }
        } catch {
            let reason: String
            switch error {
            case .failed(let why): reason = why
            case .abandoned: reason = fresh.failure ?? "abandoned"
            }
            metrics.recordState(plugin: name, state: old.state)
            step("the new build did not start: \(reason); \(from) goes on serving")
            throw KernelError("the new build of '\(name)' did not start: \(reason); \(from) goes on serving")
        }
        step("started \(to)")
        return (fresh, from, to)
    }

    /// Moves everything from `old` to `fresh` (both started): bus routing, then the dependents
    /// (stopped, and started again on the new tables once the old instance has stopped).
    /// - Throws: `KernelError` when dependents did not start again (the swap itself is done).
    func completeSwap(old: PluginRecord, fresh: PluginRecord, to: String, from: String, step: (String) -> Void)
        throws(KernelError)
    {
        let name = old.name
        let budget = config.hooks.stop
        let drained = old.with { $0.host }?.endpoint.retireAll(timeout: budget) ?? true
        step(
            drained
                ? "moved bus routing to the new instance; the old one finished its queued work"
                : "moved bus routing to the new instance; the old one still had work queued after \(budget.shortText) (dropped)"
        )
        // Dependents hold the old instance's service tables: stop them, then the old instance.
        let dependents = dependents(of: old)
        let clock = ContinuousClock()
        for record in dependents.reversed() {
            step("stopping \(record.name) (depends on \(name))")
            stopOne(record, until: clock.now + budget, budget: budget)
        }
        recordList.withLock { list in list = list.map { $0 === old ? fresh : $0 } }
        setStartOrder(startOrder.map { $0 === old ? fresh : $0 })
        step("stopping the old instance \(from)")
        stopOne(old, until: clock.now + budget, budget: budget)
        // The old record's stop moved the shared state gauge: the plugin is started. Its health
        // is the new instance's.
        metrics.recordState(plugin: name, state: fresh.state)
        metrics.recordHealth(plugin: name, status: fresh.state == .started ? cachedHealth(fresh)?.status : nil)
        self.generation.add(1, ordering: .sequentiallyConsistent)
        var failures: [String] = []
        for record in startOrder where dependents.contains(where: { $0 === record }) {
            step("starting \(record.name)")
            do throws(StartFailure) {
                try initAndStart(record)
                step("started \(record.name)")
            } catch {
                if case .failed(let why) = error { setState(record, .failed, failure: why) }
                failures.append("\(record.name): \(record.failure ?? "did not start")")
                step("\(record.name) did not start: \(record.failure ?? "")")
            }
        }
        step("\(name) \(to) is serving")
        if !failures.isEmpty {
            throw KernelError(
                "'\(name)' was replaced, but dependents did not start again: \(failures.joined(separator: "; "))")
        }
    }

    /// Refuses a build another user could have written, before `dlopen` runs any of its code: a
    /// deploy (or canary) over the API loaded whatever file an admin key named, so a library a
    /// local user could write (a world-writable file, one in a directory where anyone may
    /// replace it) ran inside the server, with its privileges, as soon as an admin named it.
    ///
    /// The path is walked as the loader resolves it, from `/`: every directory on it must belong
    /// to the server's user or root and be writable by no one else unless it is sticky (as `/tmp`
    /// is: others may add entries but not replace one they do not own); every symbolic link met
    /// must belong to the server's user or root (in a sticky directory its owner may replace it),
    /// and the walk goes on at its target; the file it ends at must belong to the server's user
    /// or root and be writable by no one else. A path that cannot be examined is left to the
    /// loader to report. The libraries the build has the loader find for it are examined too
    /// (``checkNeededLibraries(of:)``).
    /// - Parameter final: what the path names: the build (the default), a library it needs, or
    ///   a directory the loader searches for one (which must not be sticky and writable either:
    ///   anyone may create a missing name in it).
    static func checkOwnership(of path: String, final: WalkEnd = .build) throws(KernelError) {
        let me = geteuid()
        func check(_ item: String, _ info: stat, what: String, modeMatters: Bool, stickyAllowed: Bool) throws(KernelError) {
            guard info.st_uid == me || info.st_uid == 0 else {
                throw KernelError(
                    "\(item) (\(what)) belongs to user \(info.st_uid), not to this server's user (\(me)) or root; another user could change the code it would run",
                    code: JAMEY_E_INVALID)
            }
            guard modeMatters else { return }
            let writableByOthers = info.st_mode & (S_IWGRP | S_IWOTH) != 0
            let sticky = info.st_mode & S_ISVTX != 0
            guard !writableByOthers || (stickyAllowed && sticky) else {
                throw KernelError(
                    "\(item) (\(what)) is writable by its group or by others (mode \(String(info.st_mode & 0o7777, radix: 8))); anyone who can write it could run code in this server: chmod go-w it",
                    code: JAMEY_E_INVALID)
            }
        }
        var info = stat()
        guard lstat("/", &info) == 0 else { return }
        try check("/", info, what: "a directory on its path", modeMatters: true, stickyAllowed: true)
        // The components left to walk, and the real directory reached (no links in it; "" is /).
        var pending = path.split(separator: "/").map(String.init)
        var reached = ""
        var links = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == "." { continue }
            if name == ".." {
                reached = String(reached[..<(reached.lastIndex(of: "/") ?? reached.startIndex)])
                continue
            }
            let item = reached + "/" + name
            guard lstat(item, &info) == 0 else { return }
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                try check(item, info, what: "a symbolic link on its path", modeMatters: false, stickyAllowed: false)
                links += 1
                guard links <= 40, let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: item)
                else { return }
                if destination.hasPrefix("/") { reached = "" }
                pending = destination.split(separator: "/").map(String.init) + pending
            case S_IFDIR:
                let last = pending.isEmpty && final == .searchDirectory
                try check(
                    item, info, what: last ? final.label : "a directory on its path", modeMatters: true, stickyAllowed: !last)
                reached = item
            default:
                try check(item, info, what: final.label, modeMatters: true, stickyAllowed: false)
                reached = item
            }
        }
    }

    /// What the end of a walk of ``checkOwnership(of:final:)`` is, for its sentences.
    enum WalkEnd: Equatable {
        case build, neededLibrary, searchDirectory

        var label: String {
            switch self {
            case .build: "the new build"
            case .neededLibrary: "a library the new build needs"
            case .searchDirectory: "a directory on the new build's run path"
            }
        }
    }

    /// The new build's library and validated section, or why it cannot replace `old`.
    private func prepareDeploy(_ old: PluginRecord, path: String) throws(KernelError) -> (PluginLibrary, ValidatedSection) {
        let name = old.name
        guard path.hasPrefix("/") else {
            throw KernelError("the new build's path must be absolute: \(path)", code: JAMEY_E_INVALID)
        }
        try Self.checkOwnership(of: path)
        try Self.checkNeededLibraries(of: path)
        // dlopen maps a file once per process: the "new" instance would be the running one's
        // code, sharing its global variables (a C plugin's static host pointer among them). An
        // isolated plugin's instances run in processes of their own: the same build again is a
        // fresh start (what revives a quarantined one).
        if !old.entry.isolation.isolated, let running = old.library,
            running.path == path
                || (running.file.map { file in PluginLibrary.FileIdentity(path: path).map(file.sameFile) ?? false } ?? false)
        {
            throw KernelError(
                "\(path) is the library '\(name)' runs now (\(running.path)), and a library is loaded once per process: a second instance would share its code and global variables with the running one. Copy the new build to a new path and deploy it from there",
                code: JAMEY_E_INVALID)
        }
        let library: PluginLibrary
        do throws(LoadError) {
            library = try isolatedIfConfigured(PluginLibrary.load(path: path, label: name), entry: old.entry)
        } catch {
            throw KernelError(error.message, code: JAMEY_E_INVALID)
        }
        guard library.descriptor.name == name else {
            throw KernelError(
                "\(path) is the plugin '\(library.descriptor.name)', not '\(name)'", code: JAMEY_E_INVALID)
        }
        let section: ValidatedSection
        switch checkedSection(old, old.entry, library: library, in: config) {
        case .success(let validated): section = validated
        case .failure(let errors):
            throw KernelError(
                "the new build of '\(name)' does not accept its current config: \(errors.description)", code: JAMEY_E_INVALID)
        }
        // The plugins running afterwards must still have what they require.
        var nodes: [DependencyGraph.Node] = []
        for record in startOrder where record.state == .started {
            let d = record === old ? library.descriptor : record.descriptor
            guard let d else { continue }
            nodes.append(.init(name: record.name, version: d.version, requires: d.requires, provides: d.provides))
        }
        let plan = DependencyGraph.plan(nodes)
        if let (who, reason) = plan.failures.sorted(by: { $0.key < $1.key }).first {
            throw KernelError(
                "with the new build of '\(name)', plugin '\(who)' could not run: \(reason)", code: JAMEY_E_INVALID)
        }
        return (library, section)
    }
}
