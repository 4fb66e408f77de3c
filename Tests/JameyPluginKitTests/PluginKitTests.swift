import CJameyABI
import JameyTestKit
import Testing

@testable import JameyKernel
@testable import JameyPluginKit

/// The kit's descriptor, read back by the kernel's own descriptor reader: what an author
/// declares in Swift is what the kernel sees through the C ABI.
@Suite struct PluginKitTests {
    final class Sample: JameyPlugin {
        struct Configuration: Decodable, Sendable {
            var listenPort: Int
            var tags: [String]
        }
        static let manifest = PluginManifest(
            name: "sample", version: "2.3.4-beta.1", description: "A sample",
            requires: [.init("store", "^1.2"), .init("clock")],
            provides: [.init("sample.api", "2.0.0")],
            configuration: [
                .int("listen_port", default: 8080, range: 1...65535, description: "Port"),
                .string("password", required: true, secret: true, length: 12...128),
                .string("mode", default: "yes", allowed: ["yes", "no"]),
                .stringList("tags", default: ["a", "b c"]),
                .double("ratio", default: 0.5, range: 0...1),
                .bool("verbose", default: false),
                .objectList(
                    "rules", count: 0...10, fields: [.string("from", required: true), .int("qos", default: 0, range: 0...2)]),
                .object("tls", fields: [.string("ca_file")]),
            ],
            routes: [.init("GET", "/v1/sample/{id}", topic: "sample.get", scope: "read", summary: "Get one")]
        )
        init(context: PluginContext, configuration: Configuration) async throws {}
    }

    /// Registration as the kernel would do it (any non-null host table is enough to build).
    func descriptor() throws -> UnsafePointer<jamey_plugin_descriptor> {
        try #require(export(Sample.self, HostAPI.registration))
    }

    @Test func descriptorRoundTripsThroughTheKernelReader() throws {
        let d = try PluginDescriptor(reading: try descriptor(), path: "sample.so")
        #expect(d.name == "sample")
        #expect(d.version.description == "2.3.4-beta.1")
        #expect(d.abiVersion == "\(JAMEY_ABI_MAJOR).\(JAMEY_ABI_MINOR)")
        #expect(d.requires.map(\.description) == ["store ^1.2", "clock"])
        #expect(d.provides.map(\.description) == ["sample.api 2.0.0"])
        #expect(d.routes.map(\.description) == ["GET /v1/sample/{id} -> sample.get [read]"])
        #expect(d.hooks == ["init", "start", "stop", "deinit", "health"])
        let keys = d.configSchema.map(\.key)
        #expect(keys == ["listen_port", "password", "mode", "tags", "ratio", "verbose", "rules", "tls"])
        let password = try #require(d.configSchema.first { $0.key == "password" })
        #expect(password.isSecret && password.isRequired && password.min == 12 && password.max == 128)
        let rules = try #require(d.configSchema.first { $0.key == "rules" })
        #expect(rules.type == .objectList && rules.fields.map(\.key) == ["from", "qos"])
    }

    @Test func defaultsValidateAndDecodeAsTheAuthorExpects() throws {
        let d = try PluginDescriptor(reading: try descriptor(), path: "sample.so")
        let section = try validate(
            .map(["password": .string("correct horse battery")]), against: ConfigSchema(fields: d.configSchema),
            path: "plugins.sample.config", environment: [:]
        ).get()
        // "yes" stays a string (quoted default), the list default keeps its space.
        #expect(section.value["mode"] == .string("yes"))
        #expect(section.value["tags"] == .list([.string("a"), .string("b c")]))
        #expect(section.value["listen_port"] == .int(8080))
        #expect(section.redacted()["password"] == .string("<redacted>"))
    }

    @Test func registeringTwiceReturnsTheSameDescriptor() throws {
        #expect(try descriptor() == (try descriptor()))
    }

    @Test func metricLabelsAreSanitised() {
        #expect(HostMetricsFactory.sanitize("http.requests-total") == "http_requests_total")
        #expect(HostMetricsFactory.sanitize("9lives") == "_9lives")
    }

    @Test func errorBufferTruncatesAtACharacterBoundary() {
        var buffer = [CChar](repeating: 1, count: 6)
        writeError("añañaña", &buffer, buffer.count)
        let text = String(cBufferTest: buffer)
        #expect(text == "aña")
        #expect(buffer[4] == 0 || buffer[5] == 0)
    }

    @Test func yamlQuotingOfDefaults() {
        #expect(ConfigKey.quoted(#"say "hi"\n"#) == #""say \"hi\"\\n""#)
    }
}

extension String {
    init(cBufferTest buffer: [CChar]) {
        let end = buffer.firstIndex(of: 0) ?? buffer.endIndex
        self = String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
