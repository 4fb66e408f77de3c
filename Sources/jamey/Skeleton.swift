/// Templates for `jamey plugins new`.
enum Skeleton {
    /// `my_plugin` → `MyPlugin` (the library is lib<Product>.so; the kernel matches it to the
    /// config name ignoring case, `_` and `-`).
    static func productName(_ name: String) -> String {
        name.split(whereSeparator: { $0 == "_" || $0 == "-" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// Names the Swift skeleton's target and class may not take (``productName(_:)``): modules
    /// of its package graph, types its code names, and words Swift reserves.
    static let reservedTypeNames: Set<String> = [
        "JameyPluginKit", "CJameyABI", "Logging", "Metrics", "CoreMetrics", "Foundation", "Dispatch", "Synchronization",
        "Swift", "PackageDescription", "Testing", "XCTest", "PluginContext", "PluginManifest", "JameyPlugin",
        "JameyDescriptor", "JameyRegistration", "Configuration", "ConfigurationChecking", "Reconfigurable",
        "SnapshotCapable", "HandOverCapable", "Decodable", "Sendable", "String", "Self", "Type", "Protocol", "Any",
    ]

    /// - Parameters:
    ///   - header: `jamey/plugin.h`.
    ///   - services: the plugins' service headers (`cache.h`, `memory.h`), by file name, copied
    ///     beside it so the plugin can use those tables built outside the source tree.
    static func c(name: String, header: String, services: [(String, String)] = []) -> [(String, String)] {
        let product = productName(name)
        let source = """
            /* \(name) — a Jamey plugin in C. Build: make. Load: add to your config
             *   plugins:
             *     \(name):
             *       path: <this directory>/build/lib\(product).so
             */
            #include <jamey/plugin.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>

            static const jamey_host_api *api;

            typedef struct state {
                jamey_host *host;
                uint64_t subscription;
            } state;

            /* Answers requests on "\(name).ping" with "pong". */
            static int32_t on_ping(void *user, const jamey_message *request) {
                state *s = user;
                if (request->reply_to == NULL) return JAMEY_OK;
                jamey_message reply = {0};
                reply.struct_size = sizeof(reply);
                reply.payload = "pong";
                reply.payload_len = 4;
                reply.content_type = "text/plain";
                return api->reply(s->host, request, &reply);
            }

            static int32_t plugin_init(jamey_host *host, const char *config_json, size_t config_len, void **state_out,
                                       char *err, size_t err_cap) {
                (void)config_json;
                (void)config_len;
                state *s = calloc(1, sizeof(*s));
                if (s == NULL) {
                    snprintf(err, err_cap, "out of memory");
                    return JAMEY_E_NOMEM;
                }
                s->host = host;
                *state_out = s;
                return JAMEY_OK;
            }

            static int32_t plugin_start(void *st, char *err, size_t err_cap) {
                state *s = st;
                if (api->subscribe(s->host, "\(name).ping", NULL, on_ping, s, &s->subscription) != JAMEY_OK) {
                    snprintf(err, err_cap, "could not subscribe to \(name).ping");
                    return JAMEY_E_PLUGIN;
                }
                const char *line = "\(name) started";
                api->log(s->host, JAMEY_LOG_INFO, line, strlen(line));
                return JAMEY_OK;
            }

            static int32_t plugin_stop(void *st, char *err, size_t err_cap) {
                (void)err;
                (void)err_cap;
                state *s = st;
                api->unsubscribe(s->host, s->subscription);
                return JAMEY_OK;
            }

            static void plugin_deinit(void *st) { free(st); }

            static const jamey_plugin_descriptor descriptor = {
                .struct_size = sizeof(jamey_plugin_descriptor),
                .abi_major = JAMEY_ABI_MAJOR,
                .abi_minor = JAMEY_ABI_MINOR,
                .name = "\(name)",
                .version = "0.1.0",
                .description = "\(name) plugin",
                .init = plugin_init,
                .start = plugin_start,
                .stop = plugin_stop,
                .deinit = plugin_deinit,
            };

            JAMEY_EXPORT const jamey_plugin_descriptor *jamey_plugin_register(const jamey_registration *registration) {
                if (registration == NULL || registration->host_abi_major != JAMEY_ABI_MAJOR) return NULL;
                api = registration->api;
                return &descriptor;
            }

            """
        let makefile = """
            CC ?= cc
            CFLAGS ?= -std=c11 -O2 -Wall -Wextra -fPIC

            build/lib\(product).so: \(name).c include/jamey/plugin.h
            \tmkdir -p build
            \t$(CC) $(CFLAGS) -Iinclude -shared -o $@ \(name).c

            clean:
            \trm -rf build

            .PHONY: clean

            """
        return [("\(name).c", source), ("Makefile", makefile), ("include/jamey/plugin.h", header)]
            + services.map { ("include/jamey/" + $0.0, $0.1) }
    }

    /// The Swift skeleton: a package depending on the kit package alone (JameyPluginKit, swift-log,
    /// swift-metrics), by path.
    /// - Parameters:
    ///   - name: the plugin's name.
    ///   - kitPath: the kit package's directory (`Kit/` in the Jamey source tree).
    static func swift(name: String, kitPath: String) -> [(String, String)] {
        let product = productName(name)
        let package = """
            // swift-tools-version: 6.2
            import PackageDescription

            // Depends on the Jamey plugin kit only (which brings swift-log and swift-metrics), not on
            // the server. A path dependency's package is named after its directory: "Kit".
            let package = Package(
                name: "\(product)",
                products: [.library(name: "\(product)", type: .dynamic, targets: ["\(product)"])],
                dependencies: [.package(path: "\(kitPath)")],
                targets: [
                    .target(name: "\(product)", dependencies: [.product(name: "JameyPluginKit", package: "Kit")])
                ]
            )

            """
        let source = """
            import JameyPluginKit

            /// \(name): answers requests on "\(name).ping" with "pong".
            ///
            /// More it may conform to (README "Write a plugin in Swift"): `SnapshotCapable` (backups),
            /// `Reconfigurable` (a changed section without a restart), `HandOverCapable` (what it
            /// holds in memory goes to the new build a deploy starts).
            public final class \(product): JameyPlugin {
                public struct Configuration: Decodable, Sendable {
                    /// What to answer with.
                    public var reply: String
                }

                public static let manifest = PluginManifest(
                    name: "\(name)",
                    version: "0.1.0",
                    description: "\(name) plugin",
                    // requires: [.init("memory", "^1.0", optional: true)],  // started after memory when it runs
                    configuration: [.string("reply", default: "pong", description: "What to answer with")]
                )

                private let context: PluginContext
                private let configuration: Configuration

                public init(context: PluginContext, configuration: Configuration) async throws {
                    self.context = context
                    self.configuration = configuration
                }

                public func start() async throws {
                    let reply = configuration.reply
                    try context.bus.respondInline("\(name).ping") { _ in .text(reply) }
                    context.logger.info("\(name) started")
                }
            }

            /// What the schema cannot say about a section, found before anything runs on it
            /// (`jamey config check`, load, reload): one sentence per problem, starting with its key.
            extension \(product): ConfigurationChecking {
                public static func problems(in configuration: Configuration) -> [String] {
                    configuration.reply.contains("\\n") ? ["reply: holds a line break; it is answered as one line"] : []
                }
            }

            @_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? { export(\(product).self, r) }

            """
        return [
            ("Package.swift", package), ("Sources/\(product)/\(product).swift", source),
            (".gitignore", ".build/\nPackage.resolved\n"),
        ]
    }
}
