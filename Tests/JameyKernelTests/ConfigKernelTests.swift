import Foundation
import JameyTestKit
import Testing

@testable import JameyKernel

@Suite("The kernel's own configuration")
struct ConfigKernelTests {
    private func load(_ text: String, environment: [String: String] = [:]) throws -> KernelConfig {
        try KernelConfig.load(path: try ConfigFixtures.write(text), defaultYAML: "", environment: environment)
    }

    private func loadErrors(_ text: String, environment: [String: String] = [:]) throws -> ConfigErrors {
        let path = try ConfigFixtures.write(text)
        do {
            _ = try KernelConfig.load(path: path, defaultYAML: "", environment: environment)
        } catch {
            return error
        }
        Issue.record("expected the config to be rejected")
        return ConfigErrors([])
    }

    @Test func embeddedDefault_usesDefaultsAndTheCurrentDirectory() throws {
        let config = try KernelConfig.load(path: nil, defaultYAML: "# all defaults\n", environment: [:])
        let currentDirectory = FileManager.default.currentDirectoryPath
        #expect(config.source == "<embedded default>")
        #expect(config.nodeName == ConfigText.hostName())
        #expect(!config.nodeName.isEmpty)
        #expect(config.dataDirectory == URL(fileURLWithPath: currentDirectory + "/data").standardizedFileURL.path)
        #expect(config.pluginDirectory == nil)
        #expect(config.logLevel == .info)
        #expect(config.logFormat == .text)
        #expect(config.shutdownTimeout == .milliseconds(10_000))
        #expect(config.bus == KernelConfig.Bus(queueCapacity: 1024, requestTimeout: .milliseconds(5000), workers: 0))
        #expect(config.plugins.isEmpty)
    }

    @Test func fullFile_isRead_andRelativePathsFollowTheFile() throws {
        let path = try ConfigFixtures.write(
            """
            node: {name: edge-1}
            data_dir: state
            plugin_dir: ../plugins
            log: {level: debug, format: json}
            shutdown: {timeout_ms: 2500}
            bus: {queue_capacity: 64, request_timeout_ms: 250, workers: 4}
            plugins:
              mqtt:
                path: lib/libMQTT.so
                required: true
                config:
                  host: broker
                  anything: [goes, here]
              hello-c:
                enabled: false
              vault:
            """)
        let config = try KernelConfig.load(path: path, defaultYAML: "", environment: [:])
        let directory = (path as NSString).deletingLastPathComponent
        #expect(config.source == path)
        #expect(config.nodeName == "edge-1")
        #expect(config.dataDirectory == directory + "/state")
        #expect(config.pluginDirectory == (directory as NSString).deletingLastPathComponent + "/plugins")
        #expect(config.logLevel == .debug)
        #expect(config.logFormat == .json)
        #expect(config.shutdownTimeout == .milliseconds(2500))
        #expect(config.bus == KernelConfig.Bus(queueCapacity: 64, requestTimeout: .milliseconds(250), workers: 4))
        #expect(config.plugins.map(\.name) == ["mqtt", "hello-c", "vault"])
        let mqtt = config.plugins[0]
        #expect(mqtt.enabled && mqtt.required)
        #expect(mqtt.path == directory + "/lib/libMQTT.so")
        #expect(mqtt.rawConfig == .map(["host": "broker", "anything": ["goes", "here"]]))
        #expect(mqtt.configKeyPath == "plugins.mqtt.config")
        #expect(
            config.plugins[1]
                == KernelConfig.PluginEntry(name: "hello-c", enabled: false, path: nil, required: false, rawConfig: nil))
        #expect(
            config.plugins[2]
                == KernelConfig.PluginEntry(name: "vault", enabled: true, path: nil, required: false, rawConfig: nil))
    }

    @Test func absolutePaths_areKept() throws {
        let config = try load("data_dir: /var/lib/jamey/\nplugin_dir: /opt/jamey/plugins\n")
        #expect(config.dataDirectory == "/var/lib/jamey")
        #expect(config.pluginDirectory == "/opt/jamey/plugins")
    }

    @Test func topLevelTypo_suggestsTheKey() throws {
        let errors = try loadErrors("data_dri: /tmp/x\n")
        #expect(errors.errors.count == 1)
        #expect(errors.errors.first?.kind == .unknownKey)
        #expect(errors.description.hasSuffix("jamey.yaml: data_dri: unknown key (did you mean 'data_dir'?)"))
    }

    @Test func pluginsTypo_suggestsPlugins() throws {
        let errors = try loadErrors("plugin:\n  mqtt: {}\n")
        #expect(errors.description.hasSuffix("plugin: unknown key (did you mean 'plugins'?)"))
    }

    @Test func nestedKernelErrors_carryTheirPaths() throws {
        let errors = try loadErrors(
            """
            log: {levl: debug, format: xml}
            shutdown: {timeout_ms: 50}
            bus: {workers: 300, queue_capacity: "many"}
            """)
        #expect(
            errors.errors.map(\.keyPath) == [
                "log.levl", "log.format", "shutdown.timeout_ms", "bus.queue_capacity", "bus.workers",
            ])
        let messages = errors.messages.map { $0.components(separatedBy: ".yaml: ").last ?? "" }
        #expect(
            messages == [
                "log.levl: unknown key (did you mean 'level'?)",
                #"log.format: expected one of "text", "json", found "xml""#,
                "shutdown.timeout_ms: expected an integer between 100 and 600000, found 50",
                #"bus.queue_capacity: expected an integer, found a string ("many")"#,
                "bus.workers: expected an integer between 0 and 256, found 300",
            ])
    }

    @Test func badLogLevel_isRejected() throws {
        let errors = try loadErrors("log:\n  level: verbose\n")
        #expect(errors.errors.first?.keyPath == "log.level")
        #expect(errors.errors.first?.kind == .notAllowed)
    }

    @Test func pluginEntries_areValidated() throws {
        let errors = try loadErrors(
            """
            plugins:
              mqtt: {enabeld: false}
              Bad_Name: {}
              api: true
              cache: {config: [1, 2]}
              hello: {required: "yes"}
            """)
        #expect(
            errors.errors.map(\.keyPath) == [
                "plugins.mqtt.enabeld", "plugins.Bad_Name", "plugins.api", "plugins.cache.config", "plugins.hello.required",
            ])
        #expect(errors.errors.map(\.kind) == [.unknownKey, .invalidName, .typeMismatch, .typeMismatch, .typeMismatch])
        #expect(errors.messages[0].hasSuffix("plugins.mqtt.enabeld: unknown key (did you mean 'enabled'?)"))
        #expect(
            errors.messages[1].hasSuffix(
                #"plugins.Bad_Name: invalid plugin name "Bad_Name"; names use only a-z, 0-9, '_' and '-'"#))
    }

    @Test func pluginsThatIsNotAMap_isRejected() throws {
        let errors = try loadErrors("plugins: [mqtt, api]\n")
        #expect(
            errors.messages.first?.hasSuffix("plugins: expected a map from plugin name to its settings, found a list of 2 items")
                == true)
    }

    @Test func pluginConfig_isKeptRawAndUnvalidated() throws {
        let config = try load("plugins:\n  mqtt:\n    config: {totally_unknown: 1, port: not-a-number}\n")
        #expect(config.plugins.first?.rawConfig == .map(["totally_unknown": 1, "port": "not-a-number"]))
    }

    @Test func environment_overridesKernelKeys() throws {
        let config = try load(
            "log: {level: warning}\n",
            environment: [
                "JAMEY_LOG_LEVEL": "debug",
                "JAMEY_DATA_DIR": "/srv/jamey",
                "JAMEY_BUS_WORKERS": "8",
                "JAMEY_NODE_NAME": "from-env",
                "JAMEY_SHUTDOWN_TIMEOUT_MS": "1000",
                "JAMEY_PLUGIN_DIR": "/opt/plugins",
            ])
        #expect(config.logLevel == .debug)
        #expect(config.dataDirectory == "/srv/jamey")
        #expect(config.bus.workers == 8)
        #expect(config.nodeName == "from-env")
        #expect(config.shutdownTimeout == .milliseconds(1000))
        #expect(config.pluginDirectory == "/opt/plugins")
    }

    @Test func environment_overridesPluginEntriesPresentInTheFile() throws {
        let config = try load(
            "plugins:\n  hello-c: {}\n  mqtt: {enabled: false}\n",
            environment: [
                "JAMEY_PLUGINS_HELLO_C_ENABLED": "false",
                "JAMEY_PLUGINS_HELLO_C_REQUIRED": "yes",
                "JAMEY_PLUGINS_MQTT_ENABLED": "1",
                "JAMEY_PLUGINS_GHOST_ENABLED": "true",
            ])
        #expect(config.plugins.map(\.name) == ["hello-c", "mqtt"])
        #expect(config.plugins[0].enabled == false)
        #expect(config.plugins[0].required == true)
        #expect(config.plugins[1].enabled == true)
    }

    @Test func badEnvironmentValue_namesTheVariableAndTheKey() throws {
        let errors = try loadErrors(
            "plugins:\n  hello-c: {}\n",
            environment: [
                "JAMEY_BUS_WORKERS": "many",
                "JAMEY_PLUGINS_HELLO_C_REQUIRED": "maybe",
                "JAMEY_LOG_LEVEL": "loud",
            ])
        #expect(
            errors.messages == [
                #"environment variable JAMEY_LOG_LEVEL (log.level): expected one of "trace", "debug", "info", "notice", "warning", "error", "critical", found "loud""#,
                #"environment variable JAMEY_BUS_WORKERS (bus.workers): expected an integer, found "many""#,
                #"environment variable JAMEY_PLUGINS_HELLO_C_REQUIRED (plugins.hello-c.required): expected a boolean (true, false, yes, no, 1 or 0), found "maybe""#,
            ])
    }

    @Test func pluginSection_validatesAtItsKeyPath_withItsEnvironment() throws {
        let config = try load("plugins:\n  hello-c:\n    config: {count: 42}\n")
        let entry = try #require(config.plugins.first)
        let schema: ConfigSchema = [
            ConfigField(key: "count", type: .int, min: 1, max: 10),
            ConfigField(key: "greeting", type: .string, defaultValue: "hello"),
        ]
        let failed = validate(
            entry.rawConfig, against: schema, path: entry.configKeyPath, source: config.source, environment: [:])
        #expect(
            ConfigFixtures.messages(failed) == [
                "\(config.source): plugins.hello-c.config.count: expected an integer between 1 and 10, found 42"
            ])
        let fixed = try validate(
            entry.rawConfig, against: schema, path: entry.configKeyPath, source: config.source,
            environment: [
                "JAMEY_PLUGINS_HELLO_C_CONFIG_COUNT": "3", "JAMEY_PLUGINS_HELLO_C_CONFIG_GREETING": "hi",
            ]
        ).get()
        #expect(fixed.json == #"{"count":3,"greeting":"hi"}"#)
    }

    @Test func missingFile_isAClearError() {
        let path = "/nonexistent/jamey-\(UUID().uuidString).yaml"
        let error = #expect(throws: ConfigErrors.self) {
            try KernelConfig.load(path: path, defaultYAML: "", environment: [:])
        }
        #expect(error?.errors.first?.kind == .fileNotFound)
        #expect(error?.description == "config file \(path) does not exist")
    }

    @Test func directoryInsteadOfFile_isAClearError() throws {
        let directory = try TemporaryDirectory.make(prefix: "jamey-config-tests")
        let error = #expect(throws: ConfigErrors.self) {
            try KernelConfig.load(path: directory, defaultYAML: "", environment: [:])
        }
        #expect(error?.errors.first?.kind == .unreadable)
    }

    @Test(arguments: ["", "\n\n", "# nothing but a comment\n", "~\n"])
    func emptyFile_isAClearError(text: String) throws {
        let errors = try loadErrors(text)
        #expect(errors.errors.map(\.kind) == [.emptyDocument])
        #expect(errors.description.contains("the config file is empty"))
    }

    @Test(arguments: ["- a\n- b\n", "just a string\n", "42\n"])
    func topLevelThatIsNotAMap_isAClearError(text: String) throws {
        let errors = try loadErrors(text)
        #expect(errors.errors.map(\.kind) == [.notAMap])
        #expect(errors.description.contains("the top level must be a map of settings"))
    }

    @Test func syntaxError_namesTheFileAndLine() throws {
        let path = try ConfigFixtures.write("log:\n  level: info\n  format: [text\n")
        let error = #expect(throws: ConfigErrors.self) {
            try KernelConfig.load(path: path, defaultYAML: "", environment: [:])
        }
        #expect(error?.errors.first?.kind == .syntax)
        #expect(error?.errors.first?.line == 4)
        #expect(error?.description.hasPrefix(path + ":4:") == true)
    }

    @Test func allProblems_areReportedTogether() throws {
        let errors = try loadErrors("data_dri: x\nlog: {level: loud}\nplugins: {BAD: {}}\n")
        #expect(errors.errors.map(\.kind) == [.unknownKey, .notAllowed, .invalidName])
    }

    @Test func redactedDescription_showsTheEffectiveConfig_withoutSecrets() throws {
        let secret = "mqtt-pa55word-value"
        let config = try load(
            """
            node: {name: edge-1}
            data_dir: /srv/jamey
            plugins:
              mqtt:
                config: {host: broker, password: \(secret)}
              hello-c: {enabled: false}
            """)
        let unvalidated = config.redactedDescription()
        #expect(!unvalidated.contains(secret))
        #expect(unvalidated.contains("name: edge-1"))
        #expect(unvalidated.contains("data_dir: /srv/jamey"))
        #expect(unvalidated.contains("level: info"))
        #expect(unvalidated.contains("timeout_ms: 10000"))
        #expect(unvalidated.contains("<not validated yet; keys host, password>"))

        let mqtt = try #require(config.plugins.first)
        let schema: ConfigSchema = [
            ConfigField(key: "host", type: .string),
            ConfigField(key: "password", type: .string, isSecret: true),
        ]
        let section = try validate(mqtt.rawConfig, against: schema, path: mqtt.configKeyPath, environment: [:]).get()
        let validated = config.redactedDescription(pluginSections: ["mqtt": section])
        #expect(!validated.contains(secret))
        #expect(validated.contains("password: \"<redacted>\""))
        #expect(validated.contains("host: broker"))

        let reparsed = try #require(try ConfigValue.parse(yaml: validated, source: "description"))
        #expect(reparsed["plugins"]?["mqtt"]?["config"]?["password"] == "<redacted>")
        #expect(reparsed["plugins"]?["hello-c"]?["enabled"] == false)
        #expect(reparsed["log"]?["format"] == "text")
    }

    /// An isolated plugin's effective limits and restart policy are shown with it (only
    /// `isolation: process` was).
    @Test func redactedDescription_showsAnIsolatedPluginsLimitsAndRestartPolicy() throws {
        let config = try load(
            """
            plugins:
              worker:
                isolation: process
                limits: {memory_mb: 256}
                restart: {max_restarts: 9}
            """)
        let shown = try #require(try ConfigValue.parse(yaml: config.redactedDescription(), source: "description"))
        let worker = shown["plugins"]?["worker"]
        #expect(worker?["isolation"] == "process")
        #expect(worker?["limits"]?["memory_mb"] == .int(256))
        #expect(worker?["limits"]?["handler_timeout_ms"] == .int(30000))
        #expect(worker?["restart"]?["max_restarts"] == .int(9))
        #expect(worker?["restart"]?["delay_ms"] == .int(100))
        #expect(worker?["restart"]?["window_s"] == .int(60))
    }
}
