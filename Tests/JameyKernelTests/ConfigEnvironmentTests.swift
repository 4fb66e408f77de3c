import Testing

@testable import JameyKernel

@Suite("Environment overrides")
struct ConfigEnvironmentTests {
    private let schema = ConfigFixtures.mqttSchema
    private let prefix = "JAMEY_PLUGINS_DEMO_CONFIG_"

    @Test func variableNames_followTheKeyPath() {
        #expect(
            ConfigEnvironment.variableName(forKeyPath: "plugins.hello-c.config.greeting")
                == "JAMEY_PLUGINS_HELLO_C_CONFIG_GREETING")
        #expect(ConfigEnvironment.variableName(forKeyPath: "data_dir") == "JAMEY_DATA_DIR")
        #expect(ConfigEnvironment.variableName(forKeyPath: "log.level") == "JAMEY_LOG_LEVEL")
    }

    /// A `JAMEY_*` variable under a config prefix that sets nothing is named, with the closest
    /// one that would: it was ignored without a word. Tools' own variables, variables a key
    /// takes, and variables of a plugin whose schema is unknown (disabled) are not named.
    @Test func variablesThatSetNoKey_areNamed() throws {
        let text = """
            plugins:
              demo:
                path: /x/libDemo.so
              off:
                enabled: false
                path: /x/libOff.so
            """
        let config = try KernelConfig.load(path: try ConfigFixtures.write(text), defaultYAML: "", environment: [:])
        let environment = [
            prefix + "PORTT": "1", prefix + "PORT": "2", "JAMEY_LOG_LEVL": "debug", "JAMEY_LOG_LEVEL": "debug",
            "JAMEY_PLUGINS_GHOST_ENABLED": "true", "JAMEY_PLUGINS_OFF_CONFIG_ANYTHING": "1", "JAMEY_KEY": "k",
            "JAMEY_SERVER": "http://h", "JAMEY_PLUGIN_RUNNER": "/r", prefix + "OUTBOUND_QOS": "1",
            "JAMEY_PLUGINS_DEMO_ISOLATION": "process", "HOME": "/root",
        ]
        let lines = config.unknownEnvironmentVariables(environment, schemas: ["demo": schema])
        #expect(lines.count == 4, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("JAMEY_LOG_LEVL is set") && $0.hasSuffix("did you mean JAMEY_LOG_LEVEL?") })
        #expect(lines.contains { $0.hasPrefix(prefix + "PORTT is set") && $0.hasSuffix("did you mean \(prefix)PORT?") })
        #expect(lines.contains { $0.hasPrefix(prefix + "OUTBOUND_QOS is set") && $0.contains("inside lists") })
        #expect(lines.contains { $0.hasPrefix("JAMEY_PLUGINS_GHOST_ENABLED is set") && $0.contains("names no plugin") })
    }

    @Test func environment_overridesFileAndDefault() throws {
        let section = try ConfigFixtures.validate(
            "host: h\nport: 1883\n", schema,
            environment: [
                prefix + "PORT": "8883",
                prefix + "KEEPALIVE": "2.5",
                prefix + "LOG_LEVEL": "debug",
                prefix + "HOST": "  spaced  ",
            ]
        ).get()
        #expect(section.value["port"] == .int(8883))
        #expect(section.value["keepalive"] == .double(2.5))
        #expect(section.value["log_level"] == "debug")
        #expect(section.value["host"] == "  spaced  ")
    }

    @Test func integerText_isAcceptedForDouble() throws {
        let section = try ConfigFixtures.validate("host: h\n", schema, environment: [prefix + "KEEPALIVE": "3"]).get()
        #expect(section.value["keepalive"] == .double(3))
    }

    @Test(arguments: [
        ("true", true), ("TRUE", true), ("yes", true), ("Yes", true), ("1", true),
        ("false", false), ("no", false), ("NO", false), ("0", false),
    ])
    func booleans_acceptCommonSpellings(text: String, expected: Bool) throws {
        let section = try ConfigFixtures.validate("host: h\n", schema, environment: [prefix + "CLEAN_SESSION": text]).get()
        #expect(section.value["clean_session"] == .bool(expected))
    }

    @Test func stringList_commaSeparated() throws {
        let section = try ConfigFixtures.validate("host: h\n", schema, environment: [prefix + "TOPICS": "a/b, c/d ,e"]).get()
        #expect(section.value["topics"] == ["a/b", "c/d", "e"])
    }

    @Test func stringList_flowSyntax_keepsCommasInQuotes() throws {
        let section = try ConfigFixtures.validate("host: h\n", schema, environment: [prefix + "TOPICS": #"[x, "y,z", 42]"#]).get()
        #expect(section.value["topics"] == ["x", "y,z", "42"])
    }

    @Test func stringList_emptyText_isTheEmptyList() throws {
        let result = try ConfigFixtures.validate("host: h\n", schema, environment: [prefix + "TOPICS": ""])
        #expect(
            ConfigFixtures.messages(result) == [
                "environment variable JAMEY_PLUGINS_DEMO_CONFIG_TOPICS (plugins.demo.config.topics): expected a list of strings with 1 to 4 items, found a list of 0 items"
            ])
    }

    @Test func badValue_namesTheVariableAndTheKey() throws {
        let result = try ConfigFixtures.validate("host: h\n", schema, environment: [prefix + "PORT": "eighty"])
        let error = try #require(ConfigFixtures.errors(result).first)
        #expect(error.kind == .invalidEnvironment)
        #expect(error.variable == "JAMEY_PLUGINS_DEMO_CONFIG_PORT")
        #expect(error.keyPath == "plugins.demo.config.port")
        #expect(
            error.description
                == #"environment variable JAMEY_PLUGINS_DEMO_CONFIG_PORT (plugins.demo.config.port): expected an integer, found "eighty""#
        )
    }

    @Test func badBoolean_listsTheAcceptedSpellings() throws {
        let result = try ConfigFixtures.validate("host: h\n", schema, environment: [prefix + "CLEAN_SESSION": "maybe"])
        #expect(
            ConfigFixtures.messages(result) == [
                #"environment variable JAMEY_PLUGINS_DEMO_CONFIG_CLEAN_SESSION (plugins.demo.config.clean_session): expected a boolean (true, false, yes, no, 1 or 0), found "maybe""#
            ])
    }

    @Test func outOfRangeValue_namesTheVariable() throws {
        let result = try ConfigFixtures.validate("host: h\n", schema, environment: [prefix + "PORT": "70000"])
        #expect(
            ConfigFixtures.messages(result) == [
                "environment variable JAMEY_PLUGINS_DEMO_CONFIG_PORT (plugins.demo.config.port): expected an integer between 1 and 65535, found 70000"
            ])
    }

    @Test func environment_satisfiesARequiredKey() throws {
        let section = try ConfigFixtures.validate("{}", schema, environment: [prefix + "HOST": "from-env"]).get()
        #expect(section.value["host"] == "from-env")
    }

    @Test func environment_reachesIntoAnAbsentObject() throws {
        let section = try ConfigFixtures.validate("host: h\n", schema, environment: [prefix + "TLS_CA_FILE": "/etc/ca.pem"]).get()
        #expect(section.value["tls"] == .map(["ca_file": "/etc/ca.pem", "verify": true]))
    }

    @Test func hyphenatedSectionPath_mapsToUnderscores() throws {
        let greeting: ConfigSchema = [ConfigField(key: "greeting", type: .string, defaultValue: "hello")]
        let section = try greeting.validate(
            nil, path: "plugins.hello-c.config",
            environment: [
                "JAMEY_PLUGINS_HELLO_C_CONFIG_GREETING": "bonjour"
            ]
        ).get()
        #expect(section.value["greeting"] == "bonjour")
    }
}
