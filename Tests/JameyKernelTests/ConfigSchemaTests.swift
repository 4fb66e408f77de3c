import Testing

@testable import JameyKernel

@Suite("Schema self-validation")
struct ConfigSchemaTests {
    private func schemaMessages(_ schema: ConfigSchema, path: String = "plugins.demo.config") -> [String] {
        do {
            try schema.validateSchema(path: path, source: "libDemo.so")
            return []
        } catch {
            #expect(error.errors.allSatisfy { $0.kind == .invalidSchema })
            return error.messages
        }
    }

    @Test func validSchemas_pass() throws {
        try ConfigFixtures.mqttSchema.validateSchema()
        try KernelConfig.schema(hostName: "node-1").validateSchema()
        try KernelConfig.pluginEntrySchema.validateSchema()
    }

    @Test func duplicateKeys_areRejected() {
        let schema: ConfigSchema = [ConfigField(key: "a", type: .int), ConfigField(key: "a", type: .string)]
        #expect(schemaMessages(schema) == ["libDemo.so: plugins.demo.config.a: schema error: key 'a' is declared more than once"])
    }

    @Test(arguments: ["Port", "my-key", "", "a.b", "ключ"])
    func badKeySyntax_isRejected(key: String) {
        let messages = schemaMessages([ConfigField(key: key, type: .int)])
        #expect(messages.count == 1)
        #expect(messages.first?.contains("keys use only a-z, 0-9 and '_'") == true)
    }

    @Test func minGreaterThanMax_isRejected() {
        let schema: ConfigSchema = [ConfigField(key: "n", type: .int, min: 10, max: 1)]
        #expect(schemaMessages(schema) == ["libDemo.so: plugins.demo.config.n: schema error: min (10) is greater than max (1)"])
    }

    @Test func requiredWithDefault_isRejected() {
        let schema: ConfigSchema = [ConfigField(key: "n", type: .int, isRequired: true, defaultValue: "1")]
        #expect(
            schemaMessages(schema) == ["libDemo.so: plugins.demo.config.n: schema error: a required key cannot have a default"])
    }

    @Test func defaultFailingItsOwnField_namesTheField() {
        let schema: ConfigSchema = [
            ConfigField(key: "port", type: .int, defaultValue: "abc"),
            ConfigField(key: "count", type: .int, defaultValue: "99", min: 1, max: 10),
            ConfigField(key: "level", type: .string, defaultValue: "loud", allowedValues: ["quiet", "normal"]),
            ConfigField(key: "flag", type: .bool, defaultValue: "[unclosed"),
        ]
        #expect(
            schemaMessages(schema) == [
                #"libDemo.so: plugins.demo.config.port: schema error: the default "abc" does not fit the field: expected an integer, found a string ("abc")"#,
                #"libDemo.so: plugins.demo.config.count: schema error: the default "99" does not fit the field: expected an integer between 1 and 10, found 99"#,
                #"libDemo.so: plugins.demo.config.level: schema error: the default "loud" does not fit the field: expected one of "quiet", "normal", found "loud""#,
                #"libDemo.so: plugins.demo.config.flag: schema error: the default "[unclosed" is not valid YAML: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 1)"#,
            ])
    }

    @Test func nestedDefault_isCheckedRecursively() {
        let schema: ConfigSchema = [
            ConfigField(
                key: "list", type: .objectList, defaultValue: "[{qos: 7}]",
                fields: [
                    ConfigField(key: "qos", type: .int, min: 0, max: 2)
                ])
        ]
        #expect(
            schemaMessages(schema) == [
                "libDemo.so: plugins.demo.config.list: schema error: the default \"[{qos: 7}]\" does not fit the field at plugins.demo.config.list[0].qos: expected an integer between 0 and 2, found 7"
            ])
    }

    @Test func misplacedOptions_areRejected() {
        let schema: ConfigSchema = [
            ConfigField(key: "flag", type: .bool, min: 1),
            ConfigField(key: "n", type: .int, allowedValues: ["1"]),
            ConfigField(key: "s", type: .string, fields: [ConfigField(key: "x", type: .int)]),
            ConfigField(key: "o", type: .object),
            ConfigField(key: "l", type: .stringList, min: -1),
            ConfigField(key: "e", type: .string, allowedValues: []),
        ]
        #expect(
            schemaMessages(schema, path: "") == [
                "libDemo.so: flag: schema error: min and max do not apply to a boolean",
                "libDemo.so: n: schema error: allowed values apply only to strings and lists of strings, not to an integer",
                "libDemo.so: s: schema error: nested fields apply only to maps and lists of maps, not to a string",
                "libDemo.so: o: schema error: a map needs at least one nested field",
                "libDemo.so: l: schema error: min (-1) bounds a length, so it must be a whole number of at least 0",
                "libDemo.so: e: schema error: the list of allowed values is empty",
            ])
    }

    @Test func nestedFields_areCheckedWithTheirPath() {
        let schema: ConfigSchema = [
            ConfigField(key: "outer", type: .objectList, fields: [ConfigField(key: "Bad", type: .int)])
        ]
        #expect(schemaMessages(schema).first?.hasPrefix("libDemo.so: plugins.demo.config.outer.Bad: schema error") == true)
    }

    @Test func textualDefaults_stayText() throws {
        let schema: ConfigSchema = [
            ConfigField(key: "port_name", type: .string, defaultValue: "8080"),
            ConfigField(key: "answer", type: .string, defaultValue: "true"),
            ConfigField(key: "empty", type: .string, defaultValue: ""),
            ConfigField(key: "names", type: .stringList, defaultValue: "[a, 1, b]"),
        ]
        let section = try schema.validate(nil, path: "", environment: [:]).get()
        #expect(section.value["port_name"] == "8080")
        #expect(section.value["answer"] == "true")
        #expect(section.value["empty"] == "")
        #expect(section.value["names"] == ["a", "1", "b"])
    }

    @Test func validate_reportsSchemaErrorsFirst() throws {
        let schema: ConfigSchema = [ConfigField(key: "n", type: .int, min: 5, max: 1)]
        let result = schema.validate(["n": 3], path: "plugins.x.config", environment: [:])
        #expect(ConfigFixtures.errors(result).map(\.kind) == [.invalidSchema])
    }

    @Test func fieldType_mirrorsTheCEnum() {
        #expect(ConfigFieldType(abiValue: 0) == .string)
        #expect(ConfigFieldType(abiValue: 6) == .objectList)
        #expect(ConfigFieldType(abiValue: 7) == nil)
        #expect(ConfigFieldType.double.abiValue == 2)
    }
}
