import CJameyABI
import Foundation

extension Kernel {
    /// A deploy's hand-over (ABI 1.7): the running instance's `hand_over` writes its in-memory
    /// state into a private directory, then the new instance's `take_over` reads it, after the
    /// new instance's init and before its start (``initAndStart(_:beforeStart:)``).
    ///
    /// A build without its hook hands over nothing, and a `hand_over` that fails or outlives its
    /// deadline leaves the new instance to start without the state (each said in the deploy's
    /// steps): the old instance serves on until the swap either way (one still in its
    /// `hand_over` is abandoned by the swap's stop). A `take_over` that fails
    /// fails the deploy, and one that outlives its deadline abandons the new instance: the old
    /// one goes on serving.
    /// - Returns: why the new instance must not start, or nil.
    func handOver(from old: PluginRecord, to fresh: PluginRecord, step: (String) -> Void) -> String? {
        let give = old.library?.raw.handOver
        let take = fresh.library?.raw.takeOver
        guard let give, let take else {
            if give != nil || take != nil {
                step(
                    "no state handed over: \(give == nil ? "the running build has no hand_over" : "the new build has no take_over")"
                )
            }
            return nil
        }
        let deadline = config.hooks.snapshot
        let parent = dataDirectory + "/" + Self.handoverDirectory
        let directory = parent + "/\(fresh.instance)-\(UInt32.random(in: 0...UInt32.max))"
        // Made here, never taken over: mkdir fails on a name that exists.
        guard FileSystem.makeDirectories(parent, mode: 0o700), mkdir(directory, 0o700) == 0 else {
            step("no state handed over: cannot create \(directory): \(String(cString: strerror(errno)))")
            return nil
        }
        // Deleted once no hook of it runs: after one that outlived its deadline, on that
        // instance's lifecycle queue, behind it (it may still be writing there).
        var cleanUpOn: PluginRecord?
        defer {
            let remove: @Sendable () -> Void = { _ = try? FileManager.default.removeItem(atPath: directory) }
            if let record = cleanUpOn { record.queue.async(execute: remove) } else { remove() }
        }
        switch directoryHookRun(old, "hand_over", give, directory, deadline: deadline, interruptible: true) {
        case .returned(let (code, _)) where code == JAMEY_OK: break
        case .returned(let (code, message)):
            step("no state handed over: hand_over failed (\(Self.codeName(code))): \(message.isEmpty ? "no message" : message)")
            return nil
        case .timedOut:
            // Not abandoned here: it serves on until the swap, whose stop waits behind the hook
            // (and abandons it if the hook is still running then).
            cleanUpOn = old
            step(
                "no state handed over: hand_over did not return within \(deadline.shortText) (\(HookDeadlines.key(of: "snapshot")))"
            )
            return nil
        case .interrupted:
            cleanUpOn = old
            return "shutdown was requested while the running instance's hand_over ran"
        }
        let bytes = Self.bytes(under: directory)
        switch directoryHookRun(fresh, "take_over", take, directory, deadline: deadline, interruptible: true) {
        case .returned(let (code, _)) where code == JAMEY_OK:
            step("handed over the running instance's state (\(bytes) bytes)")
            return nil
        case .returned(let (code, message)):
            return "take_over failed (\(Self.codeName(code))): \(message.isEmpty ? "no message" : message)"
        case .timedOut:
            cleanUpOn = fresh
            let reason = missedDeadline("take_over", deadline, key: HookDeadlines.key(of: "snapshot"))
            abandon(fresh, reason: reason)
            return reason
        case .interrupted:
            cleanUpOn = fresh
            abandon(fresh, reason: "shutdown was requested while take_over was running; the plugin is abandoned")
            return "shutdown was requested"
        }
    }

    /// Where hand-overs write, under `data_dir` (``removeLeftOverHandovers()``).
    static let handoverDirectory = ".handover"

    /// Deletes what hand-overs of an earlier run left (a kernel killed during one): copies of
    /// plugins' in-memory state, nobody's now.
    func removeLeftOverHandovers() {
        let path = dataDirectory + "/" + Self.handoverDirectory
        guard FileManager.default.fileExists(atPath: path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
            logger.info("removed the hand-over directory an earlier run left: \(path)")
        } catch {
            logger.warning("cannot remove the hand-over directory an earlier run left: \(path): \(error)")
        }
    }

    /// The bytes of the regular files under `directory`.
    private static func bytes(under directory: String) -> Int {
        let enumerator = FileManager.default.enumerator(atPath: directory)
        var total = 0
        while let item = enumerator?.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + item)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? Int) ?? 0 }
        }
        return total
    }
}
