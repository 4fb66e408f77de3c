import Foundation
import JameyTestKit
import Testing

/// `log_fields` (ABI 1.5): a C plugin's line with fields, in process and isolated, as text and as
/// JSON: keys made safe, taken keys renamed, values quoted in text where they must be, members of
/// the object in JSON.
@Suite struct LogFieldsTests {
    /// A C plugin that writes one line with fields when it starts.
    static func source(_ name: String) -> String {
        var source = CPluginSource(name: name)
        source.startCode = """
            if (!JAMEY_HOST_HAS(api, log_fields)) { api->log(s->host, JAMEY_LOG_WARNING, "no log_fields", 13); return JAMEY_OK; }
            static const char spaced[] = "two words";
            static const char quoted[] = "say \\"hi\\"\\nnext";
            jamey_log_field fields[] = {
                { "status", "200", 3 },
                { "spaced", spaced, sizeof spaced - 1 },
                { "quoted", quoted, sizeof quoted - 1 },
                { "message", "spoofed", 7 },
                { "bad key!", "x", 1 },
                { "", NULL, 0 },
            };
            api->log_fields(s->host, JAMEY_LOG_NOTICE, "fields line", 11, fields, 6);
            """
        return source.render()
    }

    static func serve(json: Bool) throws -> String {
        let dir = try TemporaryDirectory.make(prefix: "jamey-fields")
        let inside = try TestPlugins.buildC(name: "fields_in", source: source("fields_in"))
        let outside = try TestPlugins.buildC(name: "fields_out", source: source("fields_out"))
        let yaml =
            "node:\n  name: test-node\ndata_dir: data\nlog:\n  level: info\n  format: \(json ? "json" : "text")\nplugins:\n"
            + "  fields_in:\n    path: \"\(inside)\"\n"
            + "  fields_out:\n    path: \"\(outside)\"\n    isolation: process\n"
        try yaml.write(toFile: dir + "/jamey.yaml", atomically: true, encoding: .utf8)
        let cli = CLITests()
        let (process, errPipe, _) = try cli.startServe(dir, dir + "/jamey.yaml")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    @Test func fieldsFollowTheMessageInText() throws {
        let log = try Self.serve(json: false)
        for name in ["fields_in", "fields_out"] {
            let line = log.split(separator: "\n").first { $0.contains("jamey.plugin.\(name): ") && $0.contains("fields line") }
            let expected =
                " notice jamey.plugin.\(name): plugin=\(name) fields line status=200 spaced=\"two words\" quoted=\"say \\\"hi\\\"\\nnext\" field_message=spoofed bad_key_=x field=\"\""
            #expect(line?.hasSuffix(expected) == true, "\(name): \(line ?? "no line")\n\(log)")
        }
    }

    @Test func fieldsAreMembersInJSON() throws {
        let log = try Self.serve(json: true)
        for name in ["fields_in", "fields_out"] {
            let object = log.split(separator: "\n").lazy.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.first { $0["label"] as? String == "jamey.plugin.\(name)" && $0["message"] as? String == "fields line" }
            #expect(object != nil, "\(name):\n\(log)")
            #expect(object?["level"] as? String == "notice")
            #expect(object?["plugin"] as? String == name)
            #expect(object?["status"] as? String == "200")
            #expect(object?["spaced"] as? String == "two words")
            #expect(object?["quoted"] as? String == "say \"hi\"\nnext")
            #expect(object?["field_message"] as? String == "spoofed")
            #expect(object?["bad_key_"] as? String == "x")
            #expect(object?["field"] as? String == "")
        }
    }
}
