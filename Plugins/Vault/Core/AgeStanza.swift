import Crypto
import Foundation
import _CryptoExtras

/// One recipient stanza of an age header: `-> type args...` and a base64 body.
struct AgeStanza {
    var type: String
    var arguments: [String]
    var body: Data

    static let x25519Label = "age-encryption.org/v1/X25519"
    static let scryptLabel = "age-encryption.org/v1/scrypt"

    /// The stanza's header lines: arguments line, then the body wrapped at 64 columns, the last line shorter.
    var text: String {
        var lines = ["-> " + ([type] + arguments).joined(separator: " ")]
        let encoded = Array(Base64Raw.encode(body))
        var start = 0
        while start + 64 <= encoded.count {
            lines.append(String(encoded[start..<start + 64]))
            start += 64
        }
        lines.append(String(encoded[start...]))
        return lines.joined(separator: "\n") + "\n"
    }

    /// Wraps `fileKey` to an X25519 recipient with a fresh ephemeral key.
    static func x25519(fileKey: Data, recipient: AgeRecipient) throws -> AgeStanza {
        let ephemeral = Curve25519.KeyAgreement.PrivateKey()
        let share = ephemeral.publicKey.rawRepresentation
        let theirs = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: recipient.publicKey)
        let secret = try sharedSecret(ephemeral, theirs)
        let key = wrapKey(secret: secret, salt: share + recipient.publicKey, label: x25519Label)
        return AgeStanza(type: "X25519", arguments: [Base64Raw.encode(share)], body: try seal(fileKey, key))
    }

    /// Unwraps the file key with `identity`; nil when this stanza is for another key.
    func unwrapX25519(_ identity: AgeIdentity) throws -> Data? {
        guard arguments.count == 1, let share = Base64Raw.decode(Substring(arguments[0])), share.count == 32,
            body.count == 32
        else { throw VaultError(.decrypt, "age header: malformed X25519 stanza") }
        let theirs = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: share)
        let secret = try Self.sharedSecret(identity.privateKey, theirs)
        let key = Self.wrapKey(
            secret: secret, salt: share + identity.privateKey.publicKey.rawRepresentation, label: Self.x25519Label)
        return try? Self.open(body, key)
    }

    /// Wraps `fileKey` under a passphrase (scrypt, N = 2^workFactor, r = 8, p = 1).
    static func scrypt(fileKey: Data, passphrase: String, workFactor: Int) throws -> AgeStanza {
        let salt = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
        let key = try scryptKey(passphrase: passphrase, salt: salt, workFactor: workFactor)
        return AgeStanza(
            type: "scrypt", arguments: [Base64Raw.encode(salt), String(workFactor)], body: try seal(fileKey, key))
    }

    /// Unwraps the file key with `passphrase`; nil when the passphrase is wrong.
    func unwrapScrypt(_ passphrase: String, maxWorkFactor: Int = 22) throws -> Data? {
        guard arguments.count == 2, let salt = Base64Raw.decode(Substring(arguments[0])), salt.count == 16,
            let workFactor = Int(arguments[1]), String(workFactor) == arguments[1], (1...maxWorkFactor).contains(workFactor),
            body.count == 32
        else { throw VaultError(.decrypt, "age header: malformed or too costly scrypt stanza") }
        let key = try Self.scryptKey(passphrase: passphrase, salt: salt, workFactor: workFactor)
        return try? Self.open(body, key)
    }

    private static func scryptKey(passphrase: String, salt: Data, workFactor: Int) throws -> SymmetricKey {
        try KDF.Scrypt.deriveKey(
            from: Data(passphrase.utf8), salt: Data(scryptLabel.utf8) + salt, outputByteCount: 32,
            rounds: 1 << workFactor, blockSize: 8, parallelism: 1, maxMemory: 1 << 30)
    }

    private static func sharedSecret(
        _ mine: Curve25519.KeyAgreement.PrivateKey, _ theirs: Curve25519.KeyAgreement.PublicKey
    ) throws -> Data {
        let secret = try mine.sharedSecretFromKeyAgreement(with: theirs).withUnsafeBytes { Data($0) }
        guard secret.contains(where: { $0 != 0 }) else { throw VaultError(.decrypt, "age: X25519 share is a low-order point") }
        return secret
    }

    private static func wrapKey(secret: Data, salt: Data, label: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: secret), salt: salt, info: Data(label.utf8), outputByteCount: 32)
    }

    static var zeroNonce: ChaChaPoly.Nonce {
        // A 12-byte nonce always constructs.
        (try? ChaChaPoly.Nonce(data: Data(count: 12))) ?? ChaChaPoly.Nonce()
    }

    private static func seal(_ fileKey: Data, _ key: SymmetricKey) throws -> Data {
        let box = try ChaChaPoly.seal(fileKey, using: key, nonce: zeroNonce)
        return box.ciphertext + box.tag
    }

    private static func open(_ body: Data, _ key: SymmetricKey) throws -> Data {
        let box = try ChaChaPoly.SealedBox(nonce: zeroNonce, ciphertext: body.prefix(16), tag: body.suffix(16))
        return try ChaChaPoly.open(box, using: key)
    }
}
