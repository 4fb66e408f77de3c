import Testing

@testable import JameyKernel

@Suite("Secrets never leak")
struct ConfigSecretTests {
    private let schema = ConfigFixtures.mqttSchema

    @Test func tooShortSecret_isRedactedInTheError() throws {
        let secret = "hunter2"
        let result = try ConfigFixtures.validate("host: h\npassword: \(secret)\n", schema)
        let messages = ConfigFixtures.messages(result)
        #expect(
            messages == [
                "config.yaml: plugins.demo.config.password: expected a string of at least 8 characters, found a string (secret, redacted)"
            ])
        #expect(messages.allSatisfy { !$0.contains(secret) })
    }

    @Test func secretOfTheWrongType_isRedacted() throws {
        let result = try ConfigFixtures.validate("host: h\npassword: 73918246\npin: 12.5\n", schema)
        let messages = ConfigFixtures.messages(result)
        #expect(
            messages == [
                "config.yaml: plugins.demo.config.password: expected a string, found an integer (secret, redacted); put it in quotes if it is meant as text",
                "config.yaml: plugins.demo.config.pin: expected an integer, found a number (secret, redacted)",
            ])
        #expect(messages.allSatisfy { !$0.contains("73918246") && !$0.contains("12.5") })
    }

    @Test func secretOutOfRange_isRedacted() throws {
        let result = try ConfigFixtures.validate("host: h\npin: 31337\n", schema)
        #expect(
            ConfigFixtures.messages(result) == [
                "config.yaml: plugins.demo.config.pin: expected an integer between 1000 and 9999, found an integer (secret, redacted)"
            ])
    }

    @Test func badSecretFromTheEnvironment_isRedacted() throws {
        let secret = "not-a-pin-s3cr3t"
        let result = try ConfigFixtures.validate("host: h\n", schema, environment: ["JAMEY_PLUGINS_DEMO_CONFIG_PIN": secret])
        let messages = ConfigFixtures.messages(result)
        #expect(
            messages == [
                "environment variable JAMEY_PLUGINS_DEMO_CONFIG_PIN (plugins.demo.config.pin): expected an integer, found a string (secret, redacted)"
            ])
        #expect(messages.allSatisfy { !$0.contains(secret) })
    }

    @Test func secretsInObjectListsAndObjects_areRedactedInErrors() throws {
        let result = try ConfigFixtures.validate(
            """
            host: h
            tls: {key_password: 4242424242}
            outbound: [{topic: a, token: [tok-s3cr3t]}]
            """, schema)
        let messages = ConfigFixtures.messages(result)
        #expect(messages.count == 2)
        #expect(messages.allSatisfy { !$0.contains("4242424242") && !$0.contains("tok-s3cr3t") })
        #expect(messages[0].contains("tls.key_password: expected a string, found an integer (secret, redacted)"))
        #expect(messages[1].contains("outbound[0].token"))
    }

    @Test func secretObject_redactsItsChildren() throws {
        let vault: ConfigSchema = [
            ConfigField(
                key: "credentials", type: .object, isSecret: true,
                fields: [
                    ConfigField(key: "user", type: .string),
                    ConfigField(key: "key", type: .int),
                ])
        ]
        let result = try ConfigFixtures.validate("credentials: {user: 99887766, key: sekrit-key-value}\n", vault)
        let messages = ConfigFixtures.messages(result)
        #expect(messages.count == 2)
        #expect(
            messages.allSatisfy {
                !$0.contains("99887766") && !$0.contains("sekrit-key-value") && $0.contains("(secret, redacted)")
            })
        let section = try ConfigFixtures.validate("credentials: {user: admin, key: 7}\n", vault).get()
        #expect(section.redacted()["credentials"] == .string("<redacted>"))
    }

    @Test func redacted_replacesEverySecretAtAnyDepth() throws {
        let secrets = ["pw-0123456789", "kp-secret-tls", "tok-first-item", "tok-second-item"]
        let section = try ConfigFixtures.validate(
            """
            host: h
            password: \(secrets[0])
            pin: 4321
            tls: {ca_file: /ca.pem, key_password: \(secrets[1])}
            outbound:
              - {topic: a, token: \(secrets[2])}
              - {topic: b, token: \(secrets[3])}
              - {topic: c}
            """, schema
        ).get()
        let redacted = section.redacted()
        #expect(redacted["password"] == "<redacted>")
        #expect(redacted["pin"] == "<redacted>")
        #expect(redacted["tls"] == .map(["ca_file": "/ca.pem", "verify": true, "key_password": "<redacted>"]))
        #expect(
            redacted["outbound"] == [
                ["topic": "a", "qos": 0, "token": "<redacted>"],
                ["topic": "b", "qos": 0, "token": "<redacted>"],
                ["topic": "c", "qos": 0],
            ])
        #expect(redacted["host"] == "h")
        let shown = redacted.jsonString() + redacted.yamlText()
        #expect(secrets.allSatisfy { !shown.contains($0) })
        #expect(!shown.contains("4321"))
        // The plugin itself gets the real values.
        #expect(secrets.allSatisfy { section.json.contains($0) })
    }

    @Test func everyKindOfError_neverContainsTheSecret() throws {
        let secret = "zz-Very-Secret-Value-zz"
        let texts = [
            "host: h\npassword: [\(secret)]\n",
            "host: h\npassword: {\(secret): 1}\n",
            "host: h\npin: \(secret)\n",
            "host: h\ntls: {key_password: [\(secret)]}\n",
            "host: h\noutbound: [{topic: a, token: {x: \(secret)}}]\n",
        ]
        var checked = 0
        for text in texts {
            let result = try ConfigFixtures.validate(text, schema)
            for message in ConfigFixtures.messages(result) {
                #expect(!message.contains(secret), "\(message)")
                checked += 1
            }
        }
        let fromEnvironment = try ConfigFixtures.validate(
            "host: h\n", schema,
            environment: [
                "JAMEY_PLUGINS_DEMO_CONFIG_PIN": secret, "JAMEY_PLUGINS_DEMO_CONFIG_PASSWORD": "short",
            ])
        for message in ConfigFixtures.messages(fromEnvironment) {
            #expect(!message.contains(secret) && !message.contains("short\""), "\(message)")
            checked += 1
        }
        #expect(checked >= 7)
    }

    @Test func secretDefault_isRedactedInSchemaErrors() {
        let bad: ConfigSchema = [ConfigField(key: "token", type: .int, isSecret: true, defaultValue: "dflt-s3cr3t")]
        let error = #expect(throws: ConfigErrors.self) { try bad.validateSchema() }
        #expect(error?.messages.allSatisfy { !$0.contains("dflt-s3cr3t") } == true)
    }
}
