import APICore
import Testing

/// Key texts: their shape, their id, the stored digest and the comparison.
@Suite struct KeySecretTests {
    @Test func generate_makesDistinctKeysOfTheDocumentedShape() {
        let a = KeySecret.generate()
        let b = KeySecret.generate()
        #expect(a.text != b.text && a.id != b.id)
        #expect(a.text.hasPrefix("jmy_" + a.id + "_"))
        #expect(a.id.utf8.count == 16)
        #expect(a.text.utf8.count == 4 + 16 + 1 + 43)  // 32 bytes in unpadded base64url
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        #expect(a.text.dropFirst(21).allSatisfy { alphabet.contains($0) })
    }

    @Test func id_isFoundInAGeneratedKey_only() {
        let key = KeySecret.generate()
        #expect(KeySecret.id(in: key.text[...]) == key.id)
        #expect(KeySecret.id(in: "jmy_0123456789ABCDEF_secret") == nil)  // upper-case hex
        #expect(KeySecret.id(in: "jmy_0123456789abcdef-secret") == nil)
        #expect(KeySecret.id(in: "bearer-token") == nil)
        #expect(KeySecret.id(in: "jmy_0123") == nil)
    }

    @Test func digest_verifiesTheTextItCameFrom() {
        let key = KeySecret.generate()
        let stored = KeySecret.digest(key.text)
        #expect(stored.utf8.count == 64)
        #expect(KeySecret.equal(stored, KeySecret.digest(key.text)))
        #expect(!KeySecret.equal(stored, KeySecret.digest(key.text + "x")))
        #expect(!KeySecret.equal(stored, KeySecret.digest(KeySecret.generate().text)))
        #expect(!KeySecret.equal(stored, String(stored.dropLast())))
        // SHA-256 of "abc", a published test vector.
        #expect(KeySecret.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func base64url_matchesRFC4648Vectors() {
        #expect(KeySecret.base64url(Array("f".utf8)) == "Zg")
        #expect(KeySecret.base64url(Array("fo".utf8)) == "Zm8")
        #expect(KeySecret.base64url(Array("foo".utf8)) == "Zm9v")
        #expect(KeySecret.base64url([0xFB, 0xFF]) == "-_8")
        #expect(KeySecret.hex([0x00, 0xAB, 0xFF]) == "00abff")
    }
}
