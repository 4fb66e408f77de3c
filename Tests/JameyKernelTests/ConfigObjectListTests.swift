import Testing

@testable import JameyKernel

@Suite("Nested objects and object lists")
struct ConfigObjectListTests {
    private let schema = ConfigFixtures.mqttSchema

    @Test func objectList_itemsGetDefaults() throws {
        let section = try ConfigFixtures.validate(
            """
            host: h
            outbound:
              - topic: a
                qos: 1
              - topic: b
            """, schema
        ).get()
        #expect(section.value["outbound"] == [["topic": "a", "qos": 1], ["topic": "b", "qos": 0]])
    }

    @Test func objectList_errorsCarryTheItemIndex() throws {
        let result = try ConfigFixtures.validate(
            """
            host: h
            outbound:
              - topic: a
              - topic: b
              - qos: 5
            """, schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.outbound[2].topic: required key is missing; expected a string",
                "config.yaml: plugins.demo.config.outbound[2].qos: expected an integer between 0 and 2, found 5",
            ])
    }

    @Test func objectList_itemThatIsNotAMap() throws {
        let result = try ConfigFixtures.validate("host: h\noutbound: [{topic: a}, plain]\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                #"config.yaml: plugins.demo.config.outbound[1]: expected a map, found a string ("plain")"#
            ])
    }

    @Test func objectList_unknownKeyInItem() throws {
        let result = try ConfigFixtures.validate("host: h\noutbound: [{topic: a, qso: 1}]\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.outbound[0].qso: unknown key (did you mean 'qos'?)"
            ])
    }

    @Test func objectList_lengthIsBounded() throws {
        let items = (0..<6).map { "  - topic: t\($0)" }.joined(separator: "\n")
        let result = try ConfigFixtures.validate("host: h\noutbound:\n\(items)\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.outbound: expected a list of maps with at most 5 items, found a list of 6 items"
            ])
    }

    @Test func objectList_isNotOverriddenFromTheEnvironment() throws {
        let section = try ConfigFixtures.validate(
            "host: h\noutbound: [{topic: a}]\n", schema,
            environment: [
                "JAMEY_PLUGINS_DEMO_CONFIG_OUTBOUND": "[x]",
                "JAMEY_PLUGINS_DEMO_CONFIG_OUTBOUND_0_QOS": "2",
                "JAMEY_PLUGINS_DEMO_CONFIG_OUTBOUND_QOS": "2",
            ]
        ).get()
        #expect(section.value["outbound"] == [["topic": "a", "qos": 0]])
    }

    @Test func deepNesting_buildsFullPaths() throws {
        let routes: ConfigSchema = [
            ConfigField(
                key: "routes", type: .objectList,
                fields: [
                    ConfigField(
                        key: "match", type: .object,
                        fields: [
                            ConfigField(
                                key: "headers", type: .objectList,
                                fields: [
                                    ConfigField(key: "name", type: .string, isRequired: true),
                                    ConfigField(key: "value", type: .string),
                                ])
                        ])
                ])
        ]
        let result = try ConfigFixtures.validate(
            """
            routes:
              - match: {headers: [{name: a}]}
              - match:
                  headers:
                    - name: b
                    - value: c
            """, routes, path: "plugins.api.config")
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.api.config.routes[1].match.headers[1].name: required key is missing; expected a string"
            ])
    }

    @Test func nestedObject_validatesItsFields() throws {
        let result = try ConfigFixtures.validate("host: h\ntls:\n  ca_file: 5\n  verify: \"no\"\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.tls.ca_file: expected a string, found an integer (5); put it in quotes if it is meant as text",
                #"config.yaml: plugins.demo.config.tls.verify: expected a boolean, found a string ("no"); only true and false are booleans in YAML 1.2"#,
            ])
    }

    @Test func absentOptionalObject_withRequiredField_staysAbsent() throws {
        let withRequired: ConfigSchema = [
            ConfigField(
                key: "auth", type: .object,
                fields: [
                    ConfigField(key: "user", type: .string, isRequired: true),
                    ConfigField(key: "realm", type: .string, defaultValue: "jamey"),
                ])
        ]
        let section = try ConfigFixtures.validate("{}", withRequired).get()
        #expect(section.value["auth"] == nil)
        let present = try ConfigFixtures.validate("auth: {}\n", withRequired)
        #expect(
            ConfigFixtures.messages(present) == [
                "config.yaml: plugins.demo.config.auth.user: required key is missing; expected a string"
            ])
    }

    @Test func requiredObject_mustBePresent() throws {
        let required: ConfigSchema = [
            ConfigField(key: "auth", type: .object, isRequired: true, fields: [ConfigField(key: "user", type: .string)])
        ]
        let result = try ConfigFixtures.validate("{}", required)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.auth: required key is missing; expected a map"
            ])
    }
}
