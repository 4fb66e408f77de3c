import Testing

@testable import JameyKernel

@Suite struct VersionRangeTests {
    @Test(arguments: [
        ("1.2.3", "1.2.3", true), ("1.2.3", "1.2.4", false),
        ("^1.2", "1.2.0", true), ("^1.2", "1.9.9", true), ("^1.2", "2.0.0", false), ("^1.2", "1.1.9", false),
        ("^0.3.1", "0.3.9", true), ("^0.3.1", "0.4.0", false),
        ("~1.2.3", "1.2.9", true), ("~1.2.3", "1.3.0", false),
        (">=1.0.0 <2.0.0", "1.5.0", true), (">=1.0.0 <2.0.0", "2.0.0", false),
        ("1.x", "1.7.1", true), ("1.x", "2.0.0", false), ("1.2.x", "1.2.7", true), ("1.2.x", "1.3.0", false),
        ("*", "9.9.9", true), ("^1.0 || ^3.0", "3.1.0", true), ("^1.0 || ^3.0", "2.1.0", false),
        (">=1.0.0", "2.0.0-rc.1", false), (">=2.0.0-rc.1", "2.0.0-rc.2", true),
    ])
    func containment(range: String, version: String, expected: Bool) throws {
        let r = try #require(VersionRange(range))
        let v = try #require(SemanticVersion(version))
        #expect(r.contains(v) == expected)
    }

    @Test(arguments: [">>1", "", "1.2.3.4", "^", "~x", "a.b.c", ">=1.0 <"])
    func rejectsInvalidRanges(_ text: String) {
        #expect(VersionRange(text) == nil)
    }

    @Test func precedence() throws {
        let ordered = [
            "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1",
            "1.10.0",
        ]
        let versions = try ordered.map { try #require(SemanticVersion($0)) }
        #expect(versions == versions.sorted())
        #expect(SemanticVersion("01.0") == nil)
        #expect(SemanticVersion("1.0.0+build.5") == SemanticVersion(1, 0, 0))
    }
}
