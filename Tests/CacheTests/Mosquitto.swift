import Foundation
import JameyTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// A real mosquitto broker (Debian `mosquitto`) on a free loopback port, anonymous, without
/// persistence: the cluster two cache nodes share in ``BusInvalidationTests``.
final class Mosquitto: Sendable {
    let port: Int
    private let process: ChildProcess

    private init() throws {
        let directory = try TemporaryDirectory.make(prefix: "jamey-cache-mosquitto")
        var last: Error = TestKitError("no attempt")
        for _ in 1...5 {
            let port = try RedisServer.freePort()
            let config = "listener \(port) 127.0.0.1\nallow_anonymous true\npersistence false\n"
            try config.write(toFile: directory + "/mosquitto.conf", atomically: true, encoding: .utf8)
            do {
                process = try RedisServer.listening("/usr/sbin/mosquitto", ["-c", directory + "/mosquitto.conf"], port: port)
                self.port = port
                return
            } catch {
                last = error
            }
        }
        throw last
    }

    static func make() async throws -> Mosquitto { try await onThread { try Mosquitto() } }

    /// Stops the broker.
    func kill() { process.stop(SIGKILL) }
}
