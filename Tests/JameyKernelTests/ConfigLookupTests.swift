import Testing

@testable import JameyKernel

@Suite("Typed lookups by dotted path")
struct ConfigLookupTests {
    private func section() throws -> ValidatedSection {
        try ConfigFixtures.validate(
            """
            host: broker
            keepalive: 12
            password: p4ssw0rd!
            tls: {ca_file: /ca.pem}
            outbound: [{topic: a}, {topic: b, qos: 2}]
            """, ConfigFixtures.mqttSchema
        ).get()
    }

    @Test func lookups_findTypedValues() throws {
        let section = try section()
        #expect(try section.string(at: "host").get() == "broker")
        #expect(try section.int(at: "port").get() == 1883)
        #expect(try section.double(at: "keepalive").get() == 12)
        #expect(try section.bool(at: "clean_session").get() == true)
        #expect(try section.string(at: "tls.ca_file").get() == "/ca.pem")
        #expect(try section.bool(at: "tls.verify").get() == true)
        #expect(try section.int(at: "outbound[1].qos").get() == 2)
        #expect(try section.string(at: "outbound[0].topic").get() == "a")
        #expect(try section.string(at: "password").get() == "p4ssw0rd!")
    }

    @Test func double_acceptsIntegers() throws {
        #expect(try section().double(at: "port").get() == 1883)
    }

    @Test func absentKeys_areNotFound() throws {
        let section = try section()
        #expect(section.string(at: "client_id") == .failure(.notFound))
        #expect(section.string(at: "tls.nothing") == .failure(.notFound))
        #expect(section.int(at: "outbound[5].qos") == .failure(.notFound))
        #expect(section.string(at: "host.deeper") == .failure(.notFound))
        #expect(section.string(at: "") == .failure(.notFound))
        #expect(section.string(at: "outbound[x]") == .failure(.notFound))
    }

    @Test func otherTypes_areWrongType() throws {
        let section = try section()
        #expect(section.int(at: "host") == .failure(.wrongType))
        #expect(section.int(at: "keepalive") == .failure(.wrongType))
        #expect(section.bool(at: "port") == .failure(.wrongType))
        #expect(section.string(at: "tls") == .failure(.wrongType))
        #expect(section.double(at: "topics") == .failure(.wrongType))
    }
}
