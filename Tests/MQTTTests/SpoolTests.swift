import Foundation
import GRDB
import JameyKernel
import JameyTestKit
import Testing

/// The spool: QoS 1 messages published while the broker is unreachable are kept in SQLite,
/// survive a restart of Jamey and go out in order; what does not fit is counted.
@Suite struct SpoolTests {
    static let rules = """
        outbound:
          - bus: "spool.>"
            qos: 1
          - bus: "fast.>"
            qos: 0
        """

    @Test func spoolSurvivesARestartAndDrainsInOrder() async throws {
        let broker = try await Broker.make(.init(start: false))
        let first = try await Node.boot("spooler", port: broker.port, config: Self.rules)
        #expect(await eventually { first.healthDetail.contains("next attempt") }, "\(first.healthDetail)")
        for i in 0..<200 { try first.publish("spool.item", "s\(i)", headers: ["n": String(i)]) }
        try first.publish("fast.item", "lost")  // QoS 0 is not spooled
        #expect(await eventually { first.spooled == 200 })
        #expect(await eventually { first.metric(#"mqtt_spool_messages{plugin="mqtt"}"#) == 200 })
        #expect(await eventually { first.metric(#"mqtt_dropped_total{plugin="mqtt",reason="offline"}"#) == 1 })
        #expect(
            await eventually { first.healthDetail.contains("spool 200 message(s)") }, "health is polled: \(first.healthDetail)")
        await first.stop()
        #expect(FileManager.default.fileExists(atPath: first.dataDirectory + "/mqtt/spool.sqlite"))

        try await broker.restart()
        let client = try await TestClient.make(port: broker.port)
        try await client.subscribe("jamey/spool/#")
        let second = try await Node.boot("spooler", port: broker.port, config: Self.rules, dataDirectory: first.dataDirectory)
        #expect(await eventually(timeout: .seconds(20)) { client.messages(on: "jamey/spool/").count >= 200 })
        let texts = client.messages(on: "jamey/spool/").map(\.text)
        #expect(texts == (0..<200).map { "s\($0)" })
        #expect(client.messages(on: "jamey/spool/").last?.userProperties["n"] == "199")
        #expect(await eventually { second.spooled == 0 })
        // Publishing goes direct again, after the spooled ones.
        try second.publish("spool.item", "live")
        #expect(await eventually { client.messages(on: "jamey/spool/").last?.text == "live" })
    }

    @Test func overflowIsCountedNotSilent() async throws {
        // The node's user is not in the password file yet: it is refused and spools.
        let broker = try await Broker.make(.init(users: [("observer", "pw")]))
        let client = try await TestClient.make(port: broker.port, username: "observer", password: "pw")
        try await client.subscribe("jamey/spool/#")
        let node = try await Node.boot(
            "tiny", port: broker.port, config: "username: tiny\npassword: pw\nspool:\n  max_messages: 10\n" + Self.rules)
        #expect(await eventually { node.healthDetail.contains("refused") }, "\(node.healthDetail)")
        for i in 0..<15 { try node.publish("spool.item", "s\(i)") }
        #expect(await eventually { node.metric(#"mqtt_dropped_total{plugin="mqtt",reason="spool_full"}"#) == 5 })
        #expect(node.spooled == 10)
        let dropped = try node.status()["dropped"] as? [String: Int]
        #expect(dropped?["spool_full"] == 5)

        try broker.addUser("tiny", "pw")
        #expect(await eventually { client.messages(on: "jamey/spool/").count == 10 }, "\(node.healthDetail)")
        #expect(client.messages(on: "jamey/spool/").map(\.text) == (0..<10).map { "s\($0)" })
    }
    /// Messages in flight when a connection drops go back in front of the spool, below its
    /// smallest id: from an empty spool, ids 0 and down. A snapshot holding those restores (it
    /// was refused as "out of range", when the spool mattered most) and they go out in order.
    @Test func aSnapshotOfMessagesPutBackInFrontRestores() async throws {
        // The node's user is not in the password file yet: it is refused and spools.
        let broker = try await Broker.make(.init(users: [("observer", "pw")]))
        let client = try await TestClient.make(port: broker.port, username: "observer", password: "pw")
        try await client.subscribe("jamey/spool/#")
        let node = try await Node.boot(
            "prepended", port: broker.port, config: "username: tiny\npassword: pw\n" + Self.rules)
        #expect(await eventually { node.healthDetail.contains("refused") }, "\(node.healthDetail)")
        for i in 0..<3 { try node.publish("spool.item", "p\(i)") }
        #expect(await eventually { node.spooled == 3 })
        let target = try TemporaryDirectory.make(prefix: "jamey-spool-prepended")
        let kernel = node.test.kernel
        try await onThread { try kernel.snapshot(plugin: "mqtt", into: target) }
        // Ids 1...3 become -2...0, as prepend writes them after a drop from an empty spool.
        let copy = try DatabaseQueue(path: target + "/spool.sqlite")
        try await copy.write { try $0.execute(sql: "UPDATE spool SET id = id - 3") }
        try copy.close()
        try await onThread { try kernel.restore(plugin: "mqtt", from: target) }
        #expect(await eventually { node.spooled == 3 })
        try broker.addUser("tiny", "pw")
        #expect(
            await eventually(timeout: .seconds(20)) { client.messages(on: "jamey/spool/").count >= 3 }, "\(node.healthDetail)")
        #expect(client.messages(on: "jamey/spool/").map(\.text) == ["p0", "p1", "p2"])
        await node.stop()
    }

    /// A snapshot (Vault's backup) of a large spool taken while messages are sent: it is read by a
    /// connection of its own (read-only, beside the spool's), it holds every message spooled
    /// before it and passes `integrity_check`, and every message sent meanwhile is spooled.
    @Test func sendsGoOnSpoolingWhileALargeSpoolIsSnapshotted() async throws {
        let broker = try await Broker.make(.init(start: false))
        let node = try await Node.boot(
            "snapper", port: broker.port, config: "spool:\n  max_bytes: 1000000000\n" + Self.rules)
        #expect(await eventually { node.healthDetail.contains("next attempt") }, "\(node.healthDetail)")
        let large = String(repeating: "x", count: 16_384)
        for _ in 0..<8000 { try node.publish("spool.item", large) }
        // The rows committed, read by a connection of the test's own.
        var readOnly = Configuration()
        readOnly.readonly = true
        let spool = try DatabaseQueue(path: node.dataDirectory + "/mqtt/spool.sqlite", configuration: readOnly)
        let committed = { try spool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM spool") ?? 0 } }
        #expect(await eventually(timeout: .seconds(60)) { (try? committed()) == 8000 })

        let target = try TemporaryDirectory.make(prefix: "jamey-spool-snapshot")
        let kernel = node.test.kernel
        let finished = LockedBox(false)
        let failure = LockedBox<String?>(nil)
        Thread {
            do { try kernel.snapshot(plugin: "mqtt", into: target) } catch { failure.set("\(error)") }
            finished.set(true)
        }.start()
        var sent = 0
        // Paced (the bus drops publishes a subscriber's mailbox has no room for).
        while !finished.value, sent < 5000 {
            try node.publish("spool.item", "small \(sent)")
            sent += 1
            if sent % 50 == 0 {
                let expected = 8000 + sent
                _ = await eventually(timeout: .seconds(10)) { (try? committed()) == expected }
            }
        }
        // Under a loaded machine the 5 000 sends can end before the copy does: that still shows
        // sends going on during it, so wait for the copy rather than require it first.
        #expect(await eventually(timeout: .seconds(120)) { finished.value }, "\(sent) sent")
        #expect(failure.value == nil)
        #expect(
            await eventually(timeout: .seconds(30)) { (try? committed()) == 8000 + sent },
            "\((try? committed()) ?? -1) rows for \(8000 + sent) sent; \((try? node.status()) ?? [:])")
        let copy = try DatabaseQueue(path: target + "/spool.sqlite", configuration: readOnly)
        let (rows, verdict) = try await copy.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM spool") ?? 0,
                try String.fetchAll(db, sql: "PRAGMA integrity_check")
            )
        }
        #expect(rows >= 8000 && rows <= 8000 + sent)
        #expect(verdict == ["ok"])
        await node.stop()
    }
}
