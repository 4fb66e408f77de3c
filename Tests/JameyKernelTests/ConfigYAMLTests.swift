import Testing

@testable import JameyKernel

@Suite("ConfigValue parsing from YAML")
struct ConfigYAMLTests {
    @Test func plainScalars_resolveByCoreSchema() throws {
        let value = try ConfigFixtures.yaml(
            """
            t: true
            f: False
            i: 42
            neg: -7
            plus: +3
            hex: 0x1F
            oct: 0o17
            d: 2.5
            e: 1e3
            dot: .5
            inf: .inf
            tilde: ~
            nul: null
            empty:
            s: hello world
            """)
        #expect(value?["t"] == .bool(true))
        #expect(value?["f"] == .bool(false))
        #expect(value?["i"] == .int(42))
        #expect(value?["neg"] == .int(-7))
        #expect(value?["plus"] == .int(3))
        #expect(value?["hex"] == .int(31))
        #expect(value?["oct"] == .int(15))
        #expect(value?["d"] == .double(2.5))
        #expect(value?["e"] == .double(1000))
        #expect(value?["dot"] == .double(0.5))
        #expect(value?["inf"] == .double(.infinity))
        #expect(value?["tilde"] == .null)
        #expect(value?["nul"] == .null)
        #expect(value?["empty"] == .null)
        #expect(value?["s"] == .string("hello world"))
    }

    @Test func quotedScalars_stayStrings() throws {
        let value = try ConfigFixtures.yaml(
            """
            a: "true"
            b: '42'
            c: "null"
            d: '1.5'
            e: ""
            f: !!str 8080
            """)
        #expect(value?["a"] == .string("true"))
        #expect(value?["b"] == .string("42"))
        #expect(value?["c"] == .string("null"))
        #expect(value?["d"] == .string("1.5"))
        #expect(value?["e"] == .string(""))
        #expect(value?["f"] == .string("8080"))
    }

    @Test func yaml11Booleans_areStrings() throws {
        let value = try ConfigFixtures.yaml("country: no\nflag: yes\nswitch: on\n")
        #expect(value?["country"] == .string("no"))
        #expect(value?["flag"] == .string("yes"))
        #expect(value?["switch"] == .string("on"))
    }

    @Test func explicitTags_convert() throws {
        let value = try ConfigFixtures.yaml("a: !!int \"12\"\nb: !!float 3\n")
        #expect(value?["a"] == .int(12))
        #expect(value?["b"] == .double(3))
    }

    @Test func maps_keepInsertionOrder() throws {
        let value = try ConfigFixtures.yaml("zeta: 1\nalpha: 2\nmid: 3\n")
        #expect(value?.mapValue?.keys == ["zeta", "alpha", "mid"])
    }

    @Test func sequencesOfMaps_parse() throws {
        let value = try ConfigFixtures.yaml(
            """
            outbound:
              - topic: a
                qos: 1
              - {topic: b, qos: 2}
            """)
        #expect(value?["outbound"] == .list([["topic": "a", "qos": 1], ["topic": "b", "qos": 2]]))
    }

    @Test func anchorsAndMergeKeys_expand() throws {
        let value = try ConfigFixtures.yaml(
            """
            base: &base
              qos: 1
              retain: false
            item:
              <<: *base
              qos: 2
            """)
        #expect(value?["item"] == .map(["qos": 2, "retain": false]))
    }

    @Test func emptyDocument_isNil() throws {
        #expect(try ConfigFixtures.yaml("") == nil)
        #expect(try ConfigFixtures.yaml("# only a comment\n") == nil)
    }

    @Test func syntaxError_namesFileLineAndColumn() throws {
        let text = "a: 1\nb: [1, 2\nc: 3\n"
        let error = #expect(throws: ConfigErrors.self) {
            try ConfigValue.parse(yaml: text, source: "broken.yaml")
        }
        let first = try #require(error?.errors.first)
        #expect(first.kind == .syntax)
        #expect(first.source == "broken.yaml")
        #expect(first.line == 3)
        #expect(first.column != nil)
        #expect(first.description.hasPrefix("broken.yaml:3:"))
        #expect(first.description.contains("invalid YAML"))
    }

    @Test func badIndentation_reportsItsLine() throws {
        let text = "server:\n  host: a\n port: 1\n"
        let error = #expect(throws: ConfigErrors.self) {
            try ConfigValue.parse(yaml: text, source: "indent.yaml")
        }
        #expect(error?.errors.first?.line == 3)
    }

    @Test func duplicateKey_isAnError() throws {
        let error = #expect(throws: ConfigErrors.self) {
            try ConfigValue.parse(yaml: "a: 1\nb: 2\na: 3\n", source: "dup.yaml")
        }
        #expect(error?.errors.first?.kind == .syntax)
        #expect(error?.description.contains("duplicate key 'a'") == true)
    }

    @Test func quotedAndPlainKeyCollision_isDuplicate() throws {
        #expect(throws: ConfigErrors.self) {
            try ConfigValue.parse(yaml: "1: a\n\"1\": b\n", source: "dup.yaml")
        }
    }

    @Test func integerOverflow_isAnError() throws {
        let error = #expect(throws: ConfigErrors.self) {
            try ConfigValue.parse(yaml: "big: 99999999999999999999\n", source: "big.yaml")
        }
        #expect(error?.description.contains("does not fit in 64 bits") == true)
        #expect(error?.errors.first?.line == 1)
    }

    @Test func multipleDocuments_areAnError() throws {
        #expect(throws: ConfigErrors.self) {
            try ConfigValue.parse(yaml: "a: 1\n---\nb: 2\n", source: "two.yaml")
        }
    }

    @Test func yamlText_roundTrips() throws {
        let value: ConfigValue = [
            "name": "jamey", "count": 3, "ratio": 0.25, "on": true, "none": nil,
            "quoted": "true", "spaces": "a b: c", "list": ["x", "y"],
            "objects": [["a": 1, "b": ["c": "d"]], ["a": 2]], "empty": [:], "nested": [["1", "2"]],
        ]
        let text = value.yamlText()
        let parsed = try ConfigValue.parse(yaml: text, source: "roundtrip.yaml")
        #expect(parsed == value)
    }
}
