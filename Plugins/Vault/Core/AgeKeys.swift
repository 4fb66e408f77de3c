import Crypto
import Foundation

/// An age X25519 recipient (`age1...`): anyone holding it can encrypt, nobody can decrypt with it.
public struct AgeRecipient: Sendable, Hashable, CustomStringConvertible {
    /// The X25519 public key.
    public let publicKey: Data

    /// Parses `age1...`; the error names what is wrong with the text.
    public init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let (hrp, data) = Bech32.decode(trimmed), hrp == "age", data.count == 32, trimmed == trimmed.lowercased()
        else {
            throw VaultError(
                .badKey, "recipient '\(trimmed.prefix(12))...' is not an age X25519 recipient (age1..., 62 characters)")
        }
        publicKey = Data(data)
    }

    init(publicKey: Data) {
        self.publicKey = publicKey
    }

    /// The `age1...` text.
    public var description: String { Bech32.encode(hrp: "age", data: Array(publicKey)) }
}

/// An age X25519 identity (`AGE-SECRET-KEY-1...`): the private key that decrypts.
public struct AgeIdentity: Sendable {
    let rawKey: Data
    var privateKey: Curve25519.KeyAgreement.PrivateKey {
        // rawKey was validated when the identity was made.
        (try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: rawKey)) ?? Curve25519.KeyAgreement.PrivateKey()
    }

    /// A new random identity.
    public static func generate() -> AgeIdentity {
        AgeIdentity(privateKey: Curve25519.KeyAgreement.PrivateKey())
    }

    init(privateKey: Curve25519.KeyAgreement.PrivateKey) {
        rawKey = privateKey.rawRepresentation
    }

    /// Parses one `AGE-SECRET-KEY-1...` line.
    public init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let (hrp, data) = Bech32.decode(trimmed), hrp == "age-secret-key-", data.count == 32,
            trimmed == trimmed.uppercased(),
            let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: data)
        else { throw VaultError(.badKey, "identity is not an age X25519 secret key (AGE-SECRET-KEY-1...)") }
        rawKey = key.rawRepresentation
    }

    /// The identities in an identity file: `AGE-SECRET-KEY-1...` lines, `#` comments and blank lines ignored.
    public static func parseFile(_ contents: String) throws -> [AgeIdentity] {
        let lines = contents.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let identities = try lines.filter { !$0.isEmpty && !$0.hasPrefix("#") }.map { try AgeIdentity($0) }
        guard !identities.isEmpty else { throw VaultError(.badKey, "identity file holds no AGE-SECRET-KEY-1... line") }
        return identities
    }

    /// The identity file text age writes: a creation comment, the public key comment and the key.
    public func fileText(created: Date = Date()) -> String {
        "# created: \(ISO8601DateFormatter().string(from: created))\n# public key: \(recipient)\n\(self)\n"
    }

    /// The recipient that encrypts to this identity.
    public var recipient: AgeRecipient { AgeRecipient(publicKey: privateKey.publicKey.rawRepresentation) }
}

extension AgeIdentity: CustomStringConvertible {
    /// The `AGE-SECRET-KEY-1...` text.
    public var description: String {
        Bech32.encode(hrp: "age-secret-key-", data: Array(privateKey.rawRepresentation)).uppercased()
    }
}
