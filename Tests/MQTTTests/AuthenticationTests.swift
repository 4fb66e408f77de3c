import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Username and password against a broker password file (made with mosquitto_passwd).
@Suite struct AuthenticationTests {
    @Test func rightCredentialsConnect() async throws {
        let broker = try await Broker.make(.init(users: [("jamey", "s3cret")]))
        let node = try await Node.boot("auth-ok", port: broker.port, config: "username: jamey\npassword: s3cret")
        #expect(await node.waitReady(), "\(node.healthDetail)")
        #expect(node.metric(#"mqtt_connected{plugin="mqtt"}"#) == 1)
    }

    @Test func wrongPasswordIsRefusedAndReported() async throws {
        let broker = try await Broker.make(.init(users: [("jamey", "s3cret")]))
        let node = try await Node.boot("auth-bad", port: broker.port, config: "username: jamey\npassword: wrong")
        #expect(await eventually { node.healthDetail.contains("the broker refused the connection") }, "\(node.healthDetail)")
        let detail = node.healthDetail
        #expect(node.plugin?.health?.status == "degraded")
        #expect(detail.contains("not authorized") || detail.contains("bad user name or password"), "\(detail)")
        #expect(detail.contains("next attempt in") || detail.contains("connecting"), "\(detail)")
        #expect(!detail.contains("wrong"))
        #expect(node.metric(#"mqtt_connected{plugin="mqtt"}"#) == 0)
        let status = try node.status()
        #expect((status["last_error"] as? String)?.contains("refused") == true)
        #expect(status["connected"] as? Bool == false)
    }

    @Test func anonymousIsRefusedWhenTheBrokerWantsUsers() async throws {
        let broker = try await Broker.make(.init(users: [("jamey", "s3cret")]))
        let node = try await Node.boot("auth-none", port: broker.port)
        #expect(await eventually { node.healthDetail.contains("refused") }, "\(node.healthDetail)")
    }
}
