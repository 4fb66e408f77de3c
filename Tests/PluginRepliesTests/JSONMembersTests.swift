import PluginReplies
import Testing

/// `JSONMembers.firstDuplicate` finds a name repeated in one object, however it is spelt and
/// wherever the object is, and nothing else.
@Suite struct JSONMembersTests {
    @Test func aNameRepeatedInOneObjectIsFound() {
        let cases: [(String, String?)] = [
            (#"{"a":1,"b":2}"#, nil),
            (#"{"a":1,"a":2}"#, "a"),
            (#"{"a":1,"\u0061":2}"#, "a"),
            (#"{"caf\u00e9":1,"café":2}"#, "café"),
            (#"{"a\"b":1,"a\"b":2}"#, #"a"b"#),
            (#"{"outer":{"x":1,"y":{"z":[{"k":1},{"k":2,"k":3}]}}}"#, "k"),
            (#"{"items":[{"content":"a"},{"content":"b"}]}"#, nil),
            (#"{"a":{"a":{"a":1}}}"#, nil),
            (#"{"a":"a","b":"a"}"#, nil),
            (#"{"a":{"b":1},"a":2}"#, "a"),
            (#"{"a":[1,"a",{"b":"a"}],"c":"}","d":"{\"a\":1,\"a\":2}"}"#, nil),
            (#"["a","a",{"x":1},{"x":2}]"#, nil),
            (#"  { "sp" : 1 , "sp" : 2 }  "#, "sp"),
            (#"{"":1,"":2}"#, ""),
            (#""a""#, nil),
            ("{\"\u{E9}\":1,\"e\u{301}\":2}", "\u{E9}"),
            ("{" + (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + "}", nil),
            ("{" + (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + #","k3":0}"#, "k3"),
            ("{" + (0..<40).map { #""k\#($0)":{"k\#($0)":1}"# }.joined(separator: ",") + "}", nil),
            ("[" + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000) + "]", nil),
        ]
        for (json, repeated) in cases {
            #expect(JSONMembers.firstDuplicate(in: Array(json.utf8)) == repeated, "\(json.prefix(80))")
        }
    }

    @Test func theRequestBodyRefusesARepeatedMemberNamingIt() {
        #expect(throws: BodyError.self) { try RequestBody(Array(#"{"name":"a","name":"b"}"#.utf8), allowed: ["name"]) }
        let error = #expect(throws: BodyError.self) {
            try RequestBody(Array(#"{"name":"a","n\u0061me":"b"}"#.utf8), allowed: ["name"])
        }
        #expect(error?.description == "body: member 'name' appears more than once in one object")
        #expect(throws: Never.self) { try RequestBody(Array(#"{"name":"a"}"#.utf8), allowed: ["name"]) }
    }

    /// UTF-8 only: Foundation parses UTF-16 and UTF-32 JSON too (by its byte-order mark, or by
    /// the NULs between ASCII characters), which RFC 8259 does not allow between systems.
    @Test func theRequestBodyTakesUTF8Only() {
        let text = #"{"name":"a"}"#
        let utf16 = Array(text.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let bom16 = [0xFF, 0xFE] + utf16
        let error = #expect(throws: BodyError.self) { try RequestBody(utf16, allowed: ["name"]) }
        #expect(error?.description == RequestBody.nulRefusal)
        #expect(throws: BodyError.self) { try RequestBody(bom16, allowed: ["name"]) }
        #expect(throws: BodyError.self) { try RequestBody(Array(text.utf8) + [0], allowed: ["name"]) }
        #expect(throws: Never.self) { try RequestBody(Array(#"{"name":"a\u0000"}"#.utf8), allowed: ["name"]) }
    }

    /// No request schema allows `null`: a member that is null is refused, naming it, instead of
    /// being read as absent.
    @Test func theRequestBodyRefusesANullMember() {
        let error = #expect(throws: BodyError.self) {
            try RequestBody(Array(#"{"name":"a","trust":null}"#.utf8), allowed: ["name", "trust"])
        }
        #expect(error?.description == "trust: expected a value, found null (leave the member out to omit it)")
    }
}
