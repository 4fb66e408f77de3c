import Foundation
import Testing

@testable import JameyKernel

@Suite("ConfigValue JSON encoding")
struct ConfigJSONTests {
    /// Converts JSONSerialization's output back into a ConfigValue for comparison.
    private func configValue(_ object: Any) -> ConfigValue? {
        switch object {
        case is NSNull: return .null
        case let string as String: return .string(string)
        case let number as NSNumber:
            switch String(cString: number.objCType) {
            case "c", "B": return .bool(number.boolValue)
            case "d", "f": return .double(number.doubleValue)
            default: return .int(number.int64Value)
            }
        case let array as [Any]:
            let items = array.compactMap(configValue)
            return items.count == array.count ? .list(items) : nil
        case let dictionary as [String: Any]:
            var map = ConfigMap()
            for (key, item) in dictionary {
                guard let converted = configValue(item) else { return nil }
                map[key] = converted
            }
            return .map(map)
        default: return nil
        }
    }

    private func decode(_ json: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
    }

    @Test func scalars_encode() {
        #expect(ConfigValue.null.jsonString() == "null")
        #expect(ConfigValue.bool(true).jsonString() == "true")
        #expect(ConfigValue.int(-42).jsonString() == "-42")
        #expect(ConfigValue.int(.max).jsonString() == "9223372036854775807")
        #expect(ConfigValue.double(5).jsonString() == "5.0")
        #expect(ConfigValue.double(0.1).jsonString() == "0.1")
        #expect(ConfigValue.double(.nan).jsonString() == "null")
    }

    @Test func strings_escapeControlAndSpecialCharacters() throws {
        let tricky = "quote\" backslash\\ newline\n tab\t cr\r nul\u{0} bell\u{7} esc\u{1B} del\u{7F} ls\u{2028}"
        let json = ConfigValue.string(tricky).jsonString()
        #expect(json.contains("\\\""))
        #expect(json.contains("\\\\"))
        #expect(json.contains("\\n"))
        #expect(json.contains("\\u0000"))
        #expect(json.contains("\\u0007"))
        #expect(json.contains("\\u001b"))
        #expect(json.contains("\\u2028"))
        #expect(!json.unicodeScalars.contains { $0.value < 0x20 })
        #expect(try decode(json) as? String == tricky)
    }

    @Test func unicode_roundTrips() throws {
        let text = "Grüße, 日本, emoji 🎉, combining é"
        #expect(try decode(ConfigValue.string(text).jsonString()) as? String == text)
    }

    @Test func doubles_roundTripExactly() throws {
        for number in [
            0.1, 1.0 / 3.0, 1e-7, 1e20, -0.5, 123456789.123456789, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude,
        ] {
            let json = ConfigValue.double(number).jsonString()
            let decoded = try #require(try decode(json) as? NSNumber)
            #expect(decoded.doubleValue == number, "\(json)")
        }
    }

    @Test func nestedValue_parsesBackToTheSameValue() throws {
        let value: ConfigValue = [
            "name": "hello \"world\"\n", "count": 7, "ratio": 2.5, "enabled": false, "nothing": nil,
            "tags": ["a", "b\u{1}"], "servers": [["host": "h1", "port": 1883], ["host": "ü", "port": 8883]],
            "nested": ["deep": ["x": -1]],
        ]
        let json = value.jsonString()
        let decoded = try #require(configValue(try decode(json)))
        #expect(decoded == value)
    }

    @Test func mapKeys_keepOrder() {
        let value: ConfigValue = ["z": 1, "a": 2, "m": 3]
        #expect(value.jsonString() == #"{"z":1,"a":2,"m":3}"#)
    }

    @Test func validatedSection_json_holdsDefaults() throws {
        let schema: ConfigSchema = [
            ConfigField(key: "port", type: .int, defaultValue: "1883"),
            ConfigField(key: "ratio", type: .double, defaultValue: "2"),
        ]
        let section = try ConfigFixtures.validate("{}", schema).get()
        #expect(section.json == #"{"port":1883,"ratio":2.0}"#)
    }
}
