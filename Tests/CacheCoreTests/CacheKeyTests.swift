import CacheCore
import Testing

/// Keys compare, hash and match prefixes by their UTF-8 bytes, as L2 and L3 do.
@Suite struct CacheKeyTests {
    @Test func canonicallyEquivalentKeysAreTwoKeys() {
        let composed = CacheKey("caf\u{e9}")
        let decomposed = CacheKey("cafe\u{301}")
        #expect(composed.text == decomposed.text, "one String")
        #expect(composed != decomposed)
        #expect(Set([composed, decomposed, CacheKey("caf\u{e9}")]).count == 2)
        #expect(CacheKey("") == CacheKey(""))
        #expect(CacheKey("user:1") == CacheKey("user:" + String(1)))
        #expect(CacheKey("user:1").hashValue == CacheKey("user:" + String(1)).hashValue)
    }

    @Test func prefixesMatchBytes() {
        #expect(CacheKey("cafe\u{301}-1").hasPrefix("cafe"))
        #expect(!"cafe\u{301}-1".hasPrefix("cafe"), "String compares Characters")
        #expect(!CacheKey("caf\u{e9}-1").hasPrefix("cafe"))
        #expect(CacheKey("caf\u{e9}-1").hasPrefix("caf"))
        #expect(CacheKey("anything").hasPrefix(""))
    }
}
