import CJameySystem
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Starts jamey-plugin-runner processes from one thread that lives as long as the kernel.
///
/// Linux sends a child's `PR_SET_PDEATHSIG` signal when the *thread* that forked it ends, not
/// the process: a runner started from a worker or Dispatch thread that later exits would be
/// killed with it. So every spawn goes through this one long-lived thread.
enum RunnerSpawner {
    private struct Job {
        let argv: [String]
        let fd: Int32
        let ringFD: Int32
        let done: @Sendable (Int32) -> Void
    }

    private static let jobs = ConditionLock<[Job]>([])
    private static let thread: Void = KernelThread.spawn(name: "jamey-spawner") {
        while true {
            jobs.lock()
            while jobs.state.pointee.isEmpty { jobs.wait() }
            let batch = jobs.state.pointee
            jobs.state.pointee.removeAll()
            jobs.unlock()
            for job in batch { job.done(spawnNow(job.argv, job.fd, job.ringFD)) }
        }
    }

    /// Starts the runner with `argv` (argv[0] is its path), `fd` as its descriptor 3 and `ringFD`
    /// (the shared memory of its rings) as its descriptor 4.
    /// - Returns: the pid, or `-errno`.
    static func spawn(_ argv: [String], fd: Int32, ringFD: Int32) -> Int32 {
        _ = thread
        let result = SpawnResult()
        jobs.withLock {
            $0.append(
                Job(argv: argv, fd: fd, ringFD: ringFD) { pid in
                    result.pid.withLock { $0 = pid }
                    result.done.signal()
                })
        }
        jobs.signal()
        result.done.wait()
        return result.pid.withLock { $0 }
    }

    private static func spawnNow(_ argv: [String], _ fd: Int32, _ ringFD: Int32) -> Int32 {
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { for p in cArgs + cEnv { free(p) } }
        return cArgs.withUnsafeBufferPointer { args in
            cEnv.withUnsafeBufferPointer { env in jamey_spawn_runner(argv[0], args.baseAddress!, env.baseAddress!, fd, ringFD) }
        }
    }

    /// The kernel's environment for the runner, with Swift's crash backtracer off: symbolicating
    /// a crashed plugin's stack takes seconds, and the restart would wait for it.
    private static let environment: [String] = {
        var list: [String] = []
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            if !text.hasPrefix("SWIFT_BACKTRACE=") { list.append(text) }
            p += 1
        }
        return list + ["SWIFT_BACKTRACE=enable=no"]
    }()

    /// The runner's path: `JAMEY_PLUGIN_RUNNER`, else `jamey-plugin-runner` beside the running
    /// executable.
    static func runnerPath(environment: [String: String]) -> String {
        if let given = environment["JAMEY_PLUGIN_RUNNER"], !given.isEmpty { return given }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent + "/jamey-plugin-runner"
    }
}

/// The pid handed from the spawner thread to the caller.
private final class SpawnResult: Sendable {
    let pid = Mutex<Int32>(0)
    let done = DispatchSemaphore(value: 0)
}
