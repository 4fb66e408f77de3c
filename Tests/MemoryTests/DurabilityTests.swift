import Foundation
import JameyTestKit
import Testing

@testable import MemoryPlugin

#if canImport(Glibc)
    import Glibc
#endif

/// `kill -9` of a real `jamey serve` during a stream of stores: every acknowledged item is in
/// the database afterwards.
@Suite struct DurabilityTests {
    @Test func everyAcknowledgedStoreSurvivesKill9() async throws {
        let ids = try await onThread { () throws -> ([String], String, Bool) in
            let dir = try TemporaryDirectory.make(prefix: "jamey-memory-kill")
            let port = try Self.freePort()
            let yaml = TestKernel.yaml(
                plugins: [
                    .init("memory", path: try TestPlugins.library("Memory"), required: true),
                    .init(
                        "api", path: try TestPlugins.library("API"), required: true,
                        config:
                            "port: \(port)\nadmin_key: \(MemoryKernel.adminKey)\naccess_log: false\nrate_limits:\n"
                            + "  write: {rate: 0, burst: 1}\n"),
                ])
            try yaml.write(toFile: dir + "/jamey.yaml", atomically: true, encoding: .utf8)
            let server = try ChildProcess(
                TestPlugins.buildDirectory + "/jamey", ["serve", "--config", dir + "/jamey.yaml"],
                stderrPath: dir + "/stderr.log")
            var acknowledged: [String] = []
            var ready = false
            for _ in 0..<300 where !ready {
                ready = (try? MemoryKernel.send(port: port, method: "GET", path: "/healthz", body: ""))?.0 == 200
                if !ready { usleep(100_000) }
            }
            guard ready else {
                _ = server.stop(SIGKILL)
                throw TestError(
                    "jamey serve did not come up: \((try? String(contentsOfFile: dir + "/stderr.log", encoding: .utf8)) ?? "")")
            }
            for i in 0..<60 {
                let r = try MemoryKernel.send(
                    port: port, method: "POST", path: "/v1/memory/items",
                    body: #"{"content":"acknowledged item \#(i) with its own words \#(i * 7919)","layer":"long_term"}"#)
                if r.0 == 201, let id = (r.1["item"] as? [String: Any])?["id"] as? String { acknowledged.append(id) }
            }
            server.send(SIGKILL)
            let exited = server.waitForExit(timeout: .seconds(10))
            return (acknowledged, dir + "/data/memory/memory.sqlite", exited)
        }
        #expect(ids.2, "the server did not exit after SIGKILL")
        #expect(ids.0.count == 60)
        let reopened = try MemoryStore(path: ids.1)
        let found = try await reopened.list(.init(), limit: 1000).map(\.0.id)
        #expect(Set(found).isSuperset(of: ids.0))
    }

    /// A port nothing listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
