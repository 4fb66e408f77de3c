import Testing

@testable import JameyKernel

@Suite("Bus topic patterns")
struct BusTopicPatternTests {
    static let table: [(pattern: String, topic: String, matches: Bool)] = [
        ("a.b", "a.b", true),
        ("a.b", "a.c", false),
        ("a.b", "a", false),
        ("a.b", "a.b.c", false),
        ("sensors.kitchen.temp", "sensors.kitchen.temp", true),
        ("a.*", "a.b", true),
        ("a.*", "a.b.c", false),
        ("a.*", "a", false),
        ("*.b", "a.b", true),
        ("*.b", "a.c", false),
        ("a.*.c", "a.x.c", true),
        ("a.*.c", "a.x.d", false),
        ("*", "a", true),
        ("*", "a.b", false),
        ("a.>", "a.b", true),
        ("a.>", "a.b.c", true),
        ("a.>", "a", false),
        ("a.>", "b.c", false),
        (">", "a", true),
        (">", "a.b.c", true),
        ("a.*.>", "a.b.c", true),
        ("a.*.>", "a.b.c.d", true),
        ("a.*.>", "a.b", false),
        ("a.b", "a.b.*", false),
    ]

    @Test("pattern matching table", arguments: table)
    func matching(row: (pattern: String, topic: String, matches: Bool)) throws {
        let pattern = try TopicPattern(row.pattern)
        #expect(pattern.matches(row.topic) == row.matches, "\(row.pattern) vs \(row.topic)")
    }

    @Test(
        "malformed patterns are rejected, naming the pattern",
        arguments: ["", ".", "a.", ".a", "a..b", "a b", "a.>.b", ">.a", "a.b>", "a.*b", "a\tb", "a.\u{7F}"])
    func invalidPattern(text: String) {
        #expect(throws: BusError.invalidPattern(text)) { try TopicPattern(text) }
        #expect(BusError.invalidPattern(text).description.contains("'\(text)'"))
    }

    @Test(
        "malformed or wildcard topics are rejected, naming the topic",
        arguments: ["", "a.*", "a.>", "*", "a..b", "a.", ".a", "a b", "a\nb", "a.b*", "a.\u{00A0}b"])
    func invalidTopic(topic: String) {
        #expect(throws: BusError.invalidTopic(topic)) { try TopicPattern.validate(topic: topic) }
        #expect(BusError.invalidTopic(topic).description.contains("'\(topic)'"))
        #expect(BusError.invalidTopic(topic).code == .invalidTopic)
    }

    @Test("the error says why")
    func reasons() {
        #expect(BusError.invalidPattern("a.>.b").description.contains("last segment"))
        #expect(BusError.invalidTopic("a.*").description.contains("wildcard"))
        #expect(BusError.invalidTopic("a..b").description.contains("segment 2 is empty"))
    }

    @Test("endpoints reject bad topics and patterns")
    func endpointsValidate() async {
        await withBus { bus, _ in
            let endpoint = bus.endpoint(owner: "p")
            #expect(throws: BusError.invalidPattern("a..b")) { try endpoint.subscribe("a..b") { _ in true } }
            #expect(throws: BusError.invalidTopic("a.*")) { try endpoint.publish(BusMessage(topic: "a.*")) }
            #expect(throws: BusError.invalidTopic("")) { try endpoint.publish(BusMessage(topic: "")) }
            #expect(throws: BusError.invalidTopic("a.>")) { try endpoint.requestSync(BusMessage(topic: "a.>")) }
            await #expect(throws: BusError.invalidTopic("a b")) { try await endpoint.request(BusMessage(topic: "a b")) }
            #expect(throws: BusError.invalidTopic("x..y")) {
                try endpoint.request(BusMessage(topic: "x..y")) { _ in Issue.record("completion must not run") }
            }
        }
    }
}
