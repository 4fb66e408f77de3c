import Crypto
import Foundation

/// The age v1 file format (https://age-encryption.org/v1): a text header carrying a 16-byte file key
/// wrapped to each recipient, a header MAC, and a ChaCha20-Poly1305 STREAM payload in 64 KiB segments.
public enum Age {
    static let intro = "age-encryption.org/v1\n"
    static let segmentSize = 64 * 1024
    static let tagSize = 16

    /// Encrypts `plaintext` to every recipient in `recipients`.
    /// - Parameters:
    ///   - plaintext: the data to encrypt.
    ///   - recipients: at least one X25519 recipient.
    public static func encrypt(_ plaintext: Data, to recipients: [AgeRecipient]) throws -> Data {
        guard !recipients.isEmpty else { throw VaultError(.badKey, "age: no recipient to encrypt to") }
        let fileKey = randomBytes(16)
        let stanzas = try recipients.map { try AgeStanza.x25519(fileKey: fileKey, recipient: $0) }
        return try seal(plaintext, fileKey: fileKey, stanzas: stanzas)
    }

    /// As ``encrypt(_:to:)``, also returning the file's pack name (``packName(_:)``).
    static func encryptNamed(_ plaintext: Data, to recipients: [AgeRecipient]) throws -> (sealed: Data, name: String) {
        let sealed = try encrypt(plaintext, to: recipients)
        return (sealed, try packName(sealed))
    }

    /// Encrypts `plaintext` under a passphrase (one scrypt stanza), as `age -p` does.
    public static func encrypt(_ plaintext: Data, passphrase: String, workFactor: Int = 18) throws -> Data {
        let fileKey = randomBytes(16)
        let stanza = try AgeStanza.scrypt(fileKey: fileKey, passphrase: passphrase, workFactor: workFactor)
        return try seal(plaintext, fileKey: fileKey, stanzas: [stanza])
    }

    /// Decrypts an age file with the first identity that opens one of its X25519 stanzas.
    public static func decrypt(_ file: Data, identities: [AgeIdentity]) throws -> Data {
        let header = try AgeHeader(parsing: file)
        var fileKey: Data?
        for stanza in header.stanzas where stanza.type == "X25519" {
            for identity in identities {
                if let key = try stanza.unwrapX25519(identity) {
                    fileKey = key
                    break
                }
            }
            if fileKey != nil { break }
        }
        if header.stanzas.contains(where: { $0.type == "scrypt" }) {
            throw VaultError(.badKey, "age: this file is passphrase-encrypted; an identity cannot open it")
        }
        guard let fileKey else { throw VaultError(.badKey, "age: no identity matches any recipient of this file") }
        return try open(file, header: header, fileKey: fileKey)
    }

    /// Decrypts a passphrase-encrypted age file (one scrypt stanza).
    public static func decrypt(_ file: Data, passphrase: String) throws -> Data {
        let header = try AgeHeader(parsing: file)
        guard header.stanzas.count == 1, header.stanzas[0].type == "scrypt" else {
            throw VaultError(.badKey, "age: the file is not passphrase-encrypted (needs exactly one scrypt stanza)")
        }
        guard let fileKey = try header.stanzas[0].unwrapScrypt(passphrase) else {
            throw VaultError(.badKey, "age: wrong passphrase")
        }
        return try open(file, header: header, fileKey: fileKey)
    }

    private static func seal(_ plaintext: Data, fileKey: Data, stanzas: [AgeStanza]) throws -> Data {
        var header = intro + stanzas.map(\.text).joined() + "---"
        let mac = headerMAC(Data(header.utf8), fileKey: fileKey)
        header += " " + Base64Raw.encode(mac) + "\n"
        let nonce = randomBytes(16)
        var out = Data(header.utf8)
        out.reserveCapacity(out.count + 16 + plaintext.count + (plaintext.count / segmentSize + 1) * tagSize)
        out.append(nonce)
        try AgeStream.seal(plaintext, key: payloadKey(fileKey, nonce: nonce), into: &out)
        return out
    }

    private static func open(_ file: Data, header: AgeHeader, fileKey: Data) throws -> Data {
        let expected = headerMAC(file[file.startIndex..<file.startIndex + header.macInputLength], fileKey: fileKey)
        guard expected == header.mac else { throw VaultError(.decrypt, "age: header MAC does not match (header altered)") }
        let payloadStart = file.startIndex + header.length
        guard file.count - header.length >= 16 else { throw VaultError(.decrypt, "age: payload nonce missing (truncated)") }
        let nonce = file[payloadStart..<payloadStart + 16]
        return try AgeStream.open(file[(payloadStart + 16)...], key: payloadKey(fileKey, nonce: Data(nonce)))
    }

    static func headerMAC(_ header: Data, fileKey: Data) -> Data {
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: fileKey), salt: Data(), info: Data("header".utf8), outputByteCount: 32)
        return Data(HMAC<SHA256>.authenticationCode(for: header, using: key))
    }

    static func payloadKey(_ fileKey: Data, nonce: Data) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: fileKey), salt: nonce, info: Data("payload".utf8), outputByteCount: 32)
    }

    static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
