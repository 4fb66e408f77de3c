import Foundation
import JameyTestKit
import Testing

/// `jamey call` and `jamey completion`, run as real processes against a real `jamey serve`.
@Suite struct CallTests {
    @Test func coreRouteByOperationIDExitsZeroWithJSON() throws {
        let server = try LiveServer()
        let r = try server.call(["listPlugins"])
        #expect(r.status == 0, "\(r.output)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let names = (object?["plugins"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names == ["hello_c", "hello_swift", "api"], "\(r.stdout)")
        // Not a terminal: the body is printed as received, one newline added.
        #expect(r.stdout.hasSuffix("}\n") && !r.stdout.hasPrefix("{\n"))
        let pretty = try server.call(["listPlugins", "--pretty"])
        #expect(pretty.stdout.hasPrefix("{\n  \"plugins\": ["), "\(pretty.stdout)")
    }

    @Test func listShowsCoreAndPluginOperations() throws {
        let server = try LiveServer()
        for arguments in [["--list"], []] {
            let r = try server.call(arguments)
            #expect(r.status == 0, "\(r.output)")
            let lines = r.stdout.split(separator: "\n").map {
                $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            }
            #expect(lines.first == ["OPERATION", "METHOD", "PATH", "SUMMARY"])
            #expect(lines.contains { $0.prefix(3) == ["listPlugins", "GET", "/v1/plugins"] }, "\(r.stdout)")
            #expect(
                lines.contains {
                    $0.prefix(5) == ["helloGreet", "GET", "/v1/hello/{name}", "Greet", "someone"]
                },
                "\(r.stdout)")
        }
    }

    @Test func pluginRouteByMethodAndPathWithAPathParameter() throws {
        let server = try LiveServer()
        let r = try server.call(["GET", "/v1/hello/{name}", "--param", "name=Ada Lovelace"])
        #expect(r.status == 0, "\(r.output)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect((object?["greeting"] as? String)?.contains("Ada Lovelace") == true, "\(r.stdout)")
        // A concrete path, and the plugin operation by its id.
        let concrete = try server.call(["get", "/v1/hello/Grace"])
        #expect(concrete.status == 0, "\(concrete.output)")
        #expect(concrete.stdout.contains("Grace"), "\(concrete.stdout)")
        let byID = try server.call(["helloGreet", "-p", "name=Linus"])
        #expect(byID.status == 0, "\(byID.output)")
        #expect(byID.stdout.contains("Linus"), "\(byID.stdout)")
    }

    @Test func clientErrorsExitWithFour() throws {
        let server = try LiveServer()
        let notFound = try server.call(["showPlugin", "-p", "name=nope"])
        #expect(notFound.status == 4, "\(notFound.output)")
        #expect(notFound.stderr.contains("answered 404"), "\(notFound.stderr)")
        #expect(notFound.stdout.contains("\"status\":404"), "the problem body is printed: \(notFound.stdout)")
        // Run elsewhere: no ./data/api/admin.key, no JAMEY_KEY.
        let elsewhere = try TemporaryDirectory.make()
        let unauthorized = try server.call(["listPlugins"], directory: elsewhere)
        #expect(unauthorized.status == 4, "\(unauthorized.output)")
        #expect(unauthorized.stderr.contains("answered 401"), "\(unauthorized.stderr)")
        #expect(unauthorized.stderr.contains("no API key found"), "\(unauthorized.stderr)")
        // The key from JAMEY_KEY or --key-file works from anywhere.
        let key = try server.adminKey
        #expect(try server.call(["listPlugins"], environment: ["JAMEY_KEY": key], directory: elsewhere).status == 0)
        let keyFile = server.directory + "/data/api/admin.key"
        #expect(try server.call(["listPlugins", "--key-file", keyFile], directory: elsewhere).status == 0)
        let wrongKey = try server.call(["listPlugins"], environment: ["JAMEY_KEY": "not-a-key-0123456789"], directory: elsewhere)
        #expect(wrongKey.status == 4, "\(wrongKey.output)")
    }

    @Test func usageErrorsNameTheProblemInOneLine() throws {
        let server = try LiveServer()
        let unknown = try server.call(["listPlugin"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("unknown operation 'listPlugin'; did you mean listPlugins"), "\(unknown.stderr)")
        #expect(unknown.stderr.split(separator: "\n").count == 1)
        let missing = try server.call(["showPlugin"])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("needs path parameter 'name': add --param name=VALUE"), "\(missing.stderr)")
        let badJSON = try server.call(["publish", "-p", "topic=demo.ping", "--body", "{\"n\": 1"])
        #expect(badJSON.status == 64)
        #expect(badJSON.stderr.contains("the body is not valid JSON"), "\(badJSON.stderr)")
        let noSuchRoute = try server.call(["GET", "/v1/plugin"])
        #expect(noSuchRoute.status == 64)
        #expect(
            noSuchRoute.stderr.contains("no operation serves GET /v1/plugin; did you mean /v1/plugins"), "\(noSuchRoute.stderr)")
    }

    @Test func bodyFromFileAndStandardInputIsSent() throws {
        let server = try LiveServer()
        let file = server.directory + "/key.json"
        try #"{"name":"ci","scope":"read"}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let created = try server.call(["createKey", "--body", "@" + file])
        #expect(created.status == 0, "\(created.output)")
        let object = try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any]
        #expect(object?["scope"] as? String == "read")
        let readKey = try #require(object?["key"] as? String)
        // That read key cannot create keys: 403.
        let forbidden = try server.call(
            ["POST", "/v1/keys", "--body", #"{"name":"x","scope":"read"}"#], environment: ["JAMEY_KEY": readKey])
        #expect(forbidden.status == 4, "\(forbidden.output)")
        #expect(forbidden.stderr.contains("answered 403"), "\(forbidden.stderr)")
        // --body - reads standard input (a published event needs a write key: the admin key).
        let script = "printf '{\"n\":1}' | \"$0\" call publish -p topic=demo.ping --body -"
        var env = ProcessInfo.processInfo.environment
        env["JAMEY_SERVER"] = server.url
        env["JAMEY_KEY"] = try server.adminKey
        let piped = try Run.command("/bin/sh", ["-c", script, TestPlugins.buildDirectory + "/jamey"], environment: env)
        #expect(piped.status == 0, "\(piped.output)")
        #expect(piped.stdout.contains("demo.ping"), "\(piped.stdout)")
    }

    @Test func unreachableServerExitsSevenWithASentence() throws {
        var env = ProcessInfo.processInfo.environment
        env["JAMEY_SERVER"] = nil
        let r = try Run.command(
            TestPlugins.buildDirectory + "/jamey", ["call", "listPlugins", "--server", "http://127.0.0.1:1"], environment: env)
        #expect(r.status == 7)
        #expect(
            r.stderr == "jamey call: cannot reach the server at http://127.0.0.1:1: connection refused"
                + " (is `jamey serve` running with the api plugin? set --server or JAMEY_SERVER)\n", "\(r.stderr)")
        let https = try Run.command(TestPlugins.buildDirectory + "/jamey", ["call", "--server", "https://127.0.0.1:1"])
        #expect(https.status == 64)
        #expect(https.stderr.contains("does not support yet"), "\(https.stderr)")
    }

    @Test func helpDocumentsTheExitStatuses() throws {
        let r = try Run.command(TestPlugins.buildDirectory + "/jamey", ["call", "--help"])
        #expect(r.status == 0)
        let help = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("Exit status: 0 the server answered 2xx; 4 it answered 4xx; 5 it answered 5xx; 7"), "\(r.stdout)")
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptMentionsCall(shell: String) throws {
        let r = try Run.command(TestPlugins.buildDirectory + "/jamey", ["completion", shell])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.count > 500)
        #expect(r.stdout.contains("call"))
        #expect(r.stdout.contains("completion"))
        #expect(r.stdout.contains("key-file"), "the call options complete too")
        #expect(r.stdout.contains("---completion call --"), "the operation argument completes from the server")
        let marker = ["bash": "-F _jamey jamey", "zsh": "#compdef jamey", "fish": "complete -c 'jamey'"][shell] ?? ""
        #expect(r.stdout.contains(marker), "\(r.stdout.prefix(300))")
    }

    @Test func completionRefusesAnUnknownShell() throws {
        let r = try Run.command(TestPlugins.buildDirectory + "/jamey", ["completion", "tcsh"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("tcsh"), "\(r.stderr)")
    }
}
