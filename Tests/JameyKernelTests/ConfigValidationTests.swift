import Testing

@testable import JameyKernel

@Suite("Validation of a section against its schema")
struct ConfigValidationTests {
    private let schema = ConfigFixtures.mqttSchema

    @Test func validSection_fillsDefaults() throws {
        let section = try ConfigFixtures.validate("host: broker.local\n", schema).get()
        #expect(section.value["host"] == "broker.local")
        #expect(section.value["port"] == .int(1883))
        #expect(section.value["keepalive"] == .double(30))
        #expect(section.value["clean_session"] == .bool(true))
        #expect(section.value["log_level"] == "info")
        #expect(section.value["topics"] == ["jamey/#"])
        #expect(section.value["tls"] == .map(["verify": true]))
        #expect(section.value["outbound"] == nil)
        #expect(section.value["password"] == nil)
        #expect(section.value["client_id"] == nil)
    }

    /// `JAMEY_CONFIG_PATH`: a relative path is made absolute against the config file's directory,
    /// from the file, the environment or the default; "" and absolute paths stay as written, and
    /// a plain string is never touched. (The vault's repository, say, depended on the directory
    /// the server was started in: under systemd, `/`.)
    @Test func pathFields_resolveAgainstTheConfigFilesDirectory() throws {
        let schema = ConfigSchema(fields: [
            ConfigField(key: "repository", type: .string, defaultValue: "", isPath: true),
            ConfigField(key: "identity", type: .string, defaultValue: "keys/age.txt", isPath: true),
            ConfigField(key: "cert", type: .string, defaultValue: "", isPath: true),
            ConfigField(key: "ca", type: .string, defaultValue: "", isPath: true),
            ConfigField(key: "label", type: .string, defaultValue: "backups/x"),
        ])
        let section = try schema.validate(
            ConfigFixtures.yaml("repository: ../backups\ncert: /etc/ssl/c.pem\n"), path: "plugins.demo.config",
            source: "config.yaml", environment: ["JAMEY_PLUGINS_DEMO_CONFIG_CA": "tls/ca.pem"],
            baseDirectory: "/etc/jamey"
        ).get()
        #expect(section.value["repository"] == "/etc/backups")
        #expect(section.value["identity"] == "/etc/jamey/keys/age.txt")
        #expect(section.value["cert"] == "/etc/ssl/c.pem")
        #expect(section.value["ca"] == "/etc/jamey/tls/ca.pem")
        #expect(section.value["label"] == "backups/x")
        let empty = try schema.validate(nil, path: "plugins.demo.config", environment: [:], baseDirectory: "/etc/jamey").get()
        #expect(empty.value["repository"] == "")
    }

    @Test func fileValues_winOverDefaults() throws {
        let section = try ConfigFixtures.validate("host: h\nport: 8883\nlog_level: debug\n", schema).get()
        #expect(section.value["port"] == .int(8883))
        #expect(section.value["log_level"] == "debug")
    }

    @Test func nullValue_countsAsAbsent() throws {
        let section = try ConfigFixtures.validate("host: h\nport: ~\n", schema).get()
        #expect(section.value["port"] == .int(1883))
    }

    @Test func absentSection_isValidatedAsEmpty() {
        let result = schema.validate(nil, path: "plugins.demo.config", source: "config.yaml", environment: [:])
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.host: required key is missing; expected a string (broker host)"
            ])
    }

    @Test func unknownKey_suggestsTheClosestKey() throws {
        let result = try ConfigFixtures.validate("host: h\nprot: 1\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.prot: unknown key (did you mean 'port'?)"
            ])
        #expect(ConfigFixtures.errors(result).first?.kind == .unknownKey)
    }

    @Test func unknownKey_transpositionIsOneEdit() throws {
        let result = try ConfigFixtures.validate("host: h\ncleen_sesion: true\n", schema)
        #expect(ConfigFixtures.messages(result).first?.contains("did you mean 'clean_session'?") == true)
    }

    @Test func unknownKey_farFromEveryKey_listsTheKeys() throws {
        let result = try ConfigFixtures.validate("host: h\ntls: {bananas: 1}\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.tls.bananas: unknown key; the keys here are 'ca_file', 'verify', 'key_password'"
            ])
    }

    @Test func nestedUnknownKey_suggestsWithFullPath() throws {
        let result = try ConfigFixtures.validate("host: h\ntls:\n  verfy: false\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.tls.verfy: unknown key (did you mean 'verify'?)"
            ])
    }

    @Test func wrongType_namesExpectedAndFound() throws {
        let result = try ConfigFixtures.validate("host: h\nport: abc\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                #"config.yaml: plugins.demo.config.port: expected an integer, found a string ("abc")"#
            ])
        #expect(ConfigFixtures.errors(result).first?.kind == .typeMismatch)
    }

    @Test func wrongType_forEveryType() throws {
        let result = try ConfigFixtures.validate(
            """
            host: [a]
            clean_session: 1
            topics: jamey
            tls: true
            outbound: {topic: a}
            """, schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.host: expected a string, found a list of 1 item",
                "config.yaml: plugins.demo.config.clean_session: expected a boolean, found an integer (1)",
                #"config.yaml: plugins.demo.config.topics: expected a list of strings, found a string ("jamey")"#,
                "config.yaml: plugins.demo.config.tls: expected a map, found a boolean (true)",
                "config.yaml: plugins.demo.config.outbound: expected a list of maps, found a map (keys 'topic')",
            ])
    }

    @Test func yesForBoolean_explainsYAML12() throws {
        let result = try ConfigFixtures.validate("host: h\nclean_session: yes\n", schema)
        #expect(ConfigFixtures.messages(result).first?.contains("only true and false are booleans in YAML 1.2") == true)
    }

    @Test func numberForString_suggestsQuotes() throws {
        let result = try ConfigFixtures.validate("host: 10.5\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.host: expected a string, found a number (10.5); put it in quotes if it is meant as text"
            ])
    }

    @Test func integer_isAcceptedForDouble() throws {
        let section = try ConfigFixtures.validate("host: h\nkeepalive: 10\n", schema).get()
        #expect(section.value["keepalive"] == .double(10))
        #expect(section.json.contains(#""keepalive":10.0"#))
    }

    @Test func double_isRejectedForInteger() throws {
        let result = try ConfigFixtures.validate("host: h\nport: 1.5\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.port: expected an integer, found a number (1.5)"
            ])
    }

    @Test func outOfRange_integer_matchesTheDocumentedSentence() throws {
        let countSchema: ConfigSchema = [ConfigField(key: "count", type: .int, min: 1, max: 10)]
        let result = try ConfigFixtures.validate("count: 42\n", countSchema, path: "plugins.hello_c.config")
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.hello_c.config.count: expected an integer between 1 and 10, found 42"
            ])
        #expect(ConfigFixtures.errors(result).first?.kind == .outOfRange)
    }

    @Test func outOfRange_oneSidedBounds() throws {
        let bounded: ConfigSchema = [
            ConfigField(key: "low", type: .int, min: 5),
            ConfigField(key: "high", type: .double, max: 1.5),
        ]
        let result = try ConfigFixtures.validate("low: 4\nhigh: 2\n", bounded, path: "")
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: low: expected an integer of at least 5, found 4",
                "config.yaml: high: expected a number of at most 1.5, found 2",
            ])
    }

    @Test func outOfRange_double() throws {
        let result = try ConfigFixtures.validate("host: h\nkeepalive: 0.1\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.keepalive: expected a number between 0.5 and 3600, found 0.1"
            ])
    }

    @Test func nonFiniteDouble_isRejected() throws {
        let result = try ConfigFixtures.validate("host: h\nkeepalive: .nan\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.keepalive: expected a finite number, found .nan"
            ])
    }

    @Test func stringLength_isBounded() throws {
        let result = try ConfigFixtures.validate("host: h\nclient_id: abcdefghijklmnopqrstuvwxyz\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                #"config.yaml: plugins.demo.config.client_id: expected a string of 1 to 23 characters, found "abcdefghijklmnopqrstuvwxyz" (26 characters)"#
            ])
    }

    @Test func listLength_isBounded() throws {
        let result = try ConfigFixtures.validate("host: h\ntopics: []\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.topics: expected a list of strings with 1 to 4 items, found a list of 0 items"
            ])
    }

    @Test func listItems_mustBeStrings_withIndexInPath() throws {
        let result = try ConfigFixtures.validate("host: h\ntopics: [a, 1, b]\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.topics[1]: expected a string, found an integer (1); put it in quotes if it is meant as text"
            ])
    }

    @Test func allowedValues_rejectOthers() throws {
        let result = try ConfigFixtures.validate("host: h\nlog_level: verbose\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                #"config.yaml: plugins.demo.config.log_level: expected one of "debug", "info", "warning", found "verbose""#
            ])
        #expect(ConfigFixtures.errors(result).first?.kind == .notAllowed)
    }

    @Test func allowedValues_suggestTheClosest() throws {
        let result = try ConfigFixtures.validate("host: h\nlog_level: inof\n", schema)
        #expect(ConfigFixtures.messages(result).first?.hasSuffix(#"found "inof" (did you mean "info"?)"#) == true)
    }

    @Test func allowedValues_applyToStringListItems() throws {
        let levels: ConfigSchema = [ConfigField(key: "levels", type: .stringList, allowedValues: ["a", "b"])]
        let result = try ConfigFixtures.validate("levels: [a, c]\n", levels, path: "x")
        #expect(ConfigFixtures.messages(result) == [#"config.yaml: x.levels[1]: expected one of "a", "b", found "c""#])
    }

    @Test func missingRequiredKey_isReported() throws {
        let result = try ConfigFixtures.validate("port: 1\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.host: required key is missing; expected a string (broker host)"
            ])
        #expect(ConfigFixtures.errors(result).first?.kind == .missingRequired)
    }

    @Test func everyError_isCollected() throws {
        let result = try ConfigFixtures.validate(
            """
            prot: 1
            port: 0
            keepalive: x
            log_level: loud
            tls: {verify: maybe}
            """, schema)
        let errors = ConfigFixtures.errors(result)
        #expect(
            errors.map(\.keyPath) == [
                "plugins.demo.config.prot", "plugins.demo.config.host", "plugins.demo.config.port",
                "plugins.demo.config.keepalive", "plugins.demo.config.log_level", "plugins.demo.config.tls.verify",
            ])
        #expect(errors.map(\.kind) == [.unknownKey, .missingRequired, .outOfRange, .typeMismatch, .notAllowed, .typeMismatch])
    }

    @Test func sectionThatIsNotAMap_isRejected() throws {
        let result = try ConfigFixtures.validate("[1, 2]\n", schema)
        #expect(ConfigFixtures.messages(result) == ["config.yaml: plugins.demo.config: expected a map, found a list of 2 items"])
    }

    @Test func topLevelPath_hasNoLeadingDot() throws {
        let result = try ConfigFixtures.validate("host: h\nport: 0\n", schema, path: "")
        #expect(ConfigFixtures.errors(result).first?.keyPath == "port")
        #expect(ConfigFixtures.messages(result).first == "config.yaml: port: expected an integer between 1 and 65535, found 0")
    }

    @Test func globalValidateFunction_matchesSchemaMethod() throws {
        let value = try ConfigFixtures.yaml("host: h\n")
        let viaFunction = validate(value, against: schema, path: "p", environment: [:])
        let viaMethod = schema.validate(value, path: "p", environment: [:])
        #expect(try viaFunction.get() == viaMethod.get())
    }
}

@Suite("Did-you-mean suggestions")
struct ConfigSuggestionTests {
    @Test func editDistance_countsSwapsAsOneEdit() {
        #expect(ConfigText.editDistance("data_dri", "data_dir") == 1)
        #expect(ConfigText.editDistance("prot", "port") == 1)
        #expect(ConfigText.editDistance("kitten", "sitting") == 3)
        #expect(ConfigText.editDistance("", "abc") == 3)
    }

    @Test func closest_staysWithinTwoEdits() {
        #expect(ConfigText.closest(to: "levl", among: ["level", "format"]) == "level")
        #expect(ConfigText.closest(to: "colour", among: ["level", "format"]) == nil)
        #expect(ConfigText.closest(to: "x", among: ["id"]) == nil)
    }

    @Test func errors_readWellAsLocalizedDescription() throws {
        let result = try ConfigFixtures.validate("prot: 1\nhost: h\n", ConfigFixtures.mqttSchema)
        guard case .failure(let errors) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(errors.localizedDescription == "config.yaml: plugins.demo.config.prot: unknown key (did you mean 'port'?)")
    }
}
