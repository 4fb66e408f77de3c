import Foundation
import JameyTestKit
import Testing

@testable import VaultCore

extension VaultSerial {
    @Suite struct AgeTests {
        @Test(arguments: [0, 1, 1000, 65536, 65537, 3 * 65536, 200_001])
        func roundTripsAnySize(size: Int) throws {
            let identity = AgeIdentity.generate()
            let plain = Fixture.random(size)
            let sealed = try Age.encrypt(plain, to: [identity.recipient])
            #expect(try Age.decrypt(sealed, identities: [identity]) == plain)
        }

        @Test func keysRoundTripThroughTheirText() throws {
            let identity = AgeIdentity.generate()
            #expect(identity.description.hasPrefix("AGE-SECRET-KEY-1"))
            #expect(identity.recipient.description.hasPrefix("age1"))
            #expect(identity.recipient.description.count == 62)
            #expect(try AgeIdentity(identity.description).recipient == identity.recipient)
            #expect(try AgeRecipient(identity.recipient.description) == identity.recipient)
            #expect(try AgeIdentity.parseFile(identity.fileText()).count == 1)
        }

        @Test func aMistypedKeyIsRefusedWithItsKind() {
            let identity = AgeIdentity.generate()
            var text = Array(identity.recipient.description)
            text[10] = text[10] == "q" ? "p" : "q"
            #expect(throws: VaultError.self) { try AgeRecipient(String(text)) }
            #expect(throws: VaultError.self) { try AgeIdentity("AGE-SECRET-KEY-1NOTAKEY") }
        }

        @Test func theWrongIdentityIsRefused() throws {
            let sealed = try Age.encrypt(Data("secret".utf8), to: [AgeIdentity.generate().recipient])
            let error = #expect(throws: VaultError.self) { try Age.decrypt(sealed, identities: [AgeIdentity.generate()]) }
            #expect(error?.code == .badKey)
        }

        @Test func anyOfSeveralRecipientsDecrypts() throws {
            let one = AgeIdentity.generate()
            let two = AgeIdentity.generate()
            let sealed = try Age.encrypt(Data("both".utf8), to: [one.recipient, two.recipient])
            #expect(try Age.decrypt(sealed, identities: [two]) == Data("both".utf8))
            #expect(try Age.decrypt(sealed, identities: [one]) == Data("both".utf8))
        }

        @Test func aFlippedByteAnywhereFailsAuthentication() throws {
            let identity = AgeIdentity.generate()
            let sealed = try Age.encrypt(Fixture.random(100_000), to: [identity.recipient])
            for position in [30, sealed.count / 2, sealed.count - 1] {
                var altered = sealed
                altered[position] ^= 0x01
                #expect(throws: VaultError.self) { try Age.decrypt(altered, identities: [identity]) }
            }
            #expect(throws: VaultError.self) { try Age.decrypt(sealed.prefix(sealed.count - 70_000), identities: [identity]) }
        }

        @Test(arguments: [0, 1000, 65536, 3 * 65536 + 7])
        func aPackNameCoversHeaderTagsAndLengthAndEveryWriterAgreesOnIt(size: Int) throws {
            let identity = AgeIdentity.generate()
            let plain = Fixture.random(size)
            let (sealed, name) = try Age.encryptNamed(plain, to: [identity.recipient])
            #expect(try Age.packName(sealed) == name)
            #expect(Age.isPack(sealed, named: name))
            let buffer = AlignedBuffer(capacity: 1 << 20)
            let (length, directName) = try Age.seal(plain, to: [identity.recipient], into: buffer)
            let direct = Data(bytes: buffer.pointer, count: length)
            #expect(try Age.packName(direct) == directName)
            #expect(try Age.decrypt(direct, identities: [identity]) == plain)
            // A pack written before names covered only the tags is still known by its whole-file SHA-256.
            #expect(Age.isPack(sealed, named: sealed.sha256Hex))
            #expect(!Age.isPack(sealed, named: directName))
            let header = try AgeHeader(parsing: sealed)
            let segment = 65536 + 16
            let segmentEnds = Array(stride(from: header.length + 16 + segment, to: sealed.count, by: segment)) + [sealed.count]
            let tags = segmentEnds.map { $0 - 1 }
            for position in [10, header.length + 3] + tags {
                var altered = sealed
                altered[position] ^= 0x01
                #expect(!Age.isPack(altered, named: name), "byte \(position) of \(sealed.count)")
            }
            #expect(!Age.isPack(sealed + Data([0]), named: name))
            #expect(!Age.isPack(sealed.prefix(sealed.count - 1), named: name))
            if size > 0 {
                // A body byte is not in the name: opening the pack finds it instead.
                var altered = sealed
                altered[header.length + 16 + size / 2] ^= 0x01
                #expect(Age.isPack(altered, named: name))
                #expect(throws: VaultError.self) { try Age.decrypt(altered, identities: [identity]) }
            }
        }

        @Test func passphraseRoundTrip() throws {
            let sealed = try Age.encrypt(Data("key file".utf8), passphrase: "correct horse", workFactor: 10)
            #expect(String(decoding: sealed.prefix(60), as: UTF8.self).contains("-> scrypt "))
            #expect(try Age.decrypt(sealed, passphrase: "correct horse") == Data("key file".utf8))
            #expect(throws: VaultError.self) { try Age.decrypt(sealed, passphrase: "wrong") }
        }

        @Test func debianAgeDecryptsWhatWeEncrypt() async throws {
            let dir = URL(fileURLWithPath: try TemporaryDirectory.make(prefix: "jamey-age"))
            defer { try? FileManager.default.removeItem(at: dir) }
            let identity = AgeIdentity.generate()
            let identityFile = dir.appendingPathComponent("identity.txt")
            try identity.fileText().write(to: identityFile, atomically: true, encoding: .utf8)
            for size in [0, 65536, 200_001] {
                let plain = Fixture.random(size)
                let sealedFile = dir.appendingPathComponent("ours-\(size).age")
                try Age.encrypt(plain, to: [identity.recipient]).write(to: sealedFile)
                let outFile = dir.appendingPathComponent("out-\(size)")
                let result = try await run("/usr/bin/age", ["-d", "-i", identityFile.path, "-o", outFile.path, sealedFile.path])
                #expect(result.status == 0, "\(result.output)")
                // age creates its output file on the first byte written: none for an empty plaintext.
                #expect((size == 0 ? (try? Data(contentsOf: outFile)) ?? Data() : try Data(contentsOf: outFile)) == plain)
            }
        }

        @Test func weDecryptWhatDebianAgeEncrypts() async throws {
            let dir = URL(fileURLWithPath: try TemporaryDirectory.make(prefix: "jamey-age"))
            defer { try? FileManager.default.removeItem(at: dir) }
            let keyFile = dir.appendingPathComponent("key.txt")
            let keygen = try await run("/usr/bin/age-keygen", ["-o", keyFile.path])
            #expect(keygen.status == 0, "\(keygen.output)")
            let identities = try AgeIdentity.parseFile(String(contentsOf: keyFile, encoding: .utf8))
            let plain = Fixture.random(150_000)
            let plainFile = dir.appendingPathComponent("plain")
            try plain.write(to: plainFile)
            let sealedFile = dir.appendingPathComponent("theirs.age")
            let recipient = identities[0].recipient.description
            let other = AgeIdentity.generate().recipient.description
            let result = try await run("/usr/bin/age", ["-r", other, "-r", recipient, "-o", sealedFile.path, plainFile.path])
            #expect(result.status == 0, "\(result.output)")
            #expect(try Age.decrypt(Data(contentsOf: sealedFile), identities: identities) == plain)
        }
    }
}
