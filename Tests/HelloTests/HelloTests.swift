import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// The two example plugins together: HelloSwift (plugin kit) and HelloC (plain C), loaded with
/// dlopen from their built libraries, talking over the bus and through the hello.greeter service.
@Suite struct HelloTests {
    func plugins(cConfig: String? = nil, swiftConfig: String? = nil) throws -> [TestKernel.Plugin] {
        [
            .init("hello_swift", path: try TestPlugins.library("HelloSwift"), config: swiftConfig),
            .init("hello_c", path: try TestPlugins.helloC(), config: cConfig),
        ]
    }

    @Test func swiftStartsAfterCAndTheyTalk() throws {
        let k = try TestKernel.boot(plugins: try plugins(cConfig: "greeting: Ahoy", swiftConfig: "name: Ada"), start: false)
        defer { k.shutdown() }
        let ready = LockedBox<[BusMessage]>([])
        _ = try k.bus.subscribe("hello.swift.ready") {
            ready.append($0); return true
        }
        try k.kernel.start()
        #expect(k.kernel.plugin(named: "hello_c")?.state == .started)
        #expect(k.kernel.plugin(named: "hello_swift")?.state == .started)
        // hello_swift asked hello_c over the bus during its start and announced the answer.
        #expect(TestKernel.eventually { ready.count == 1 })
        #expect(ready.value.first.map { String(decoding: $0.payload, as: UTF8.self) } == "Ahoy, Ada!")
        #expect(ready.value.first?.source == "hello_swift")
        // hello_c counts the event hello_swift published on hello.swift.ready.
        #expect(
            TestKernel.eventually {
                k.kernel.plugin(named: "hello_c")?.health?.detail.contains("1 events from hello_swift") == true
            })
    }

    @Test func swiftAnswersThroughTheCService() throws {
        let k = try TestKernel.boot(plugins: try plugins())
        defer { k.shutdown() }
        let reply = try k.bus.requestSync(
            BusMessage(topic: "hello.swift.sum", payload: Array("40, 2".utf8)), timeout: .seconds(30))
        #expect(String(decoding: reply.payload, as: UTF8.self) == "42")
        let bad = try k.bus.requestSync(BusMessage(topic: "hello.swift.sum", payload: Array("x".utf8)), timeout: .seconds(30))
        #expect(bad.headers.contains { $0.key == "status" && $0.value == "500" })
        #expect(String(decoding: bad.payload, as: UTF8.self) == "expected two integers separated by a comma")
        // hello_swift's health reads the C service's counter: one greeting at its start.
        // Health is polled in the background, so it is read once the first poll has returned.
        #expect(
            TestKernel.eventually {
                k.kernel.plugin(named: "hello_swift")?.health
                    == PluginHealth(status: "ok", detail: "hello.greeter has produced 1 greetings")
            })
    }

    @Test func cAnswersGreetRequestsAndCountsThem() throws {
        let k = try TestKernel.boot(plugins: try plugins())
        defer { k.shutdown() }
        let reply = try k.bus.requestSync(BusMessage(topic: "hello.c.greet", payload: Array("Grace".utf8)), timeout: .seconds(30))
        #expect(String(decoding: reply.payload, as: UTF8.self) == "Hello, Grace!")
        #expect(reply.contentType == "text/plain; charset=utf-8")
        let text = k.kernel.metrics.exposition()
        #expect(text.contains(#"hello_c_greetings_total{plugin="hello_c"} 2"#))
        #expect(text.contains(#"jamey_bus_messages_out_total{plugin="hello_swift"}"#))
        // A long name is cut at a character, not inside one (127 bytes fell in the middle of an é).
        let long = try k.bus.requestSync(
            BusMessage(topic: "hello.c.greet", payload: Array(String(repeating: "é", count: 100).utf8)), timeout: .seconds(30))
        let greeting = try #require(String(validating: long.payload, as: UTF8.self), "valid UTF-8")
        #expect(greeting == "Hello, " + String(repeating: "é", count: 63) + "!")
    }

    @Test func swiftWithoutCIsNotStarted() throws {
        let k = try TestKernel.boot(plugins: [.init("hello_swift", path: try TestPlugins.library("HelloSwift"))])
        defer { k.shutdown() }
        #expect(
            k.kernel.plugin(named: "hello_swift")?.failure == "requires 'hello.greeter ^1.0', which no enabled plugin provides")
    }

    @Test func swiftConfigErrorsNameTheKey() throws {
        let k = try TestKernel.boot(plugins: try plugins(swiftConfig: "nmae: Ada\nannounce: maybe"), start: false)
        defer { k.shutdown() }
        let failure = try #require(k.kernel.plugin(named: "hello_swift")?.failure)
        #expect(failure.contains("plugins.hello_swift.config.nmae"))
        #expect(failure.contains("did you mean 'name'"))
        #expect(failure.contains("plugins.hello_swift.config.announce"))
        #expect(k.kernel.plugin(named: "hello_c")?.state == .loaded)
    }

    @Test func pluginKitMetricsAndLogsReachTheKernel() throws {
        let k = try TestKernel.boot(plugins: try plugins())
        defer { k.shutdown() }
        _ = try k.bus.requestSync(BusMessage(topic: "hello.swift.sum", payload: Array("1,1".utf8)), timeout: .seconds(30))
        let text = k.kernel.metrics.exposition()
        #expect(text.contains(#"jamey_bus_messages_in_total{plugin="hello_swift"}"#))
        // The plugin's own swift-metrics counter and timer, forwarded through the ABI.
        #expect(text.contains(#"hello_swift_sums_total{plugin="hello_swift",kind="inline"} 1"#), "\(text)")
        #expect(text.contains(#"hello_swift_sum_duration_seconds_count{plugin="hello_swift"} 1"#))
        #expect(text.contains(#"jamey_plugin_hook_duration_seconds_count{plugin="hello_swift",hook="start"} 1"#))
    }
}
