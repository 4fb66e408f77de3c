import Crypto
import Foundation

/// The STREAM construction over ChaCha20-Poly1305 that age uses for its payload: 64 KiB segments,
/// nonce = 11-byte big-endian counter || last-segment flag.
enum AgeStream {
    static func nonce(_ counter: UInt64, last: Bool) throws -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { bytes[3 + index] = UInt8(truncatingIfNeeded: counter >> UInt64(8 * (7 - index))) }
        bytes[11] = last ? 1 : 0
        return try ChaChaPoly.Nonce(data: bytes)
    }

    /// Appends the sealed segments to `out`.
    static func seal(_ plaintext: Data, key: SymmetricKey, into out: inout Data) throws {
        var offset = plaintext.startIndex
        var counter: UInt64 = 0
        repeat {
            let end = min(offset + Age.segmentSize, plaintext.endIndex)
            let last = end == plaintext.endIndex
            let box = try ChaChaPoly.seal(plaintext[offset..<end], using: key, nonce: nonce(counter, last: last))
            out.append(box.ciphertext)
            out.append(box.tag)
            offset = end
            counter += 1
        } while offset < plaintext.endIndex
    }

    static func open(_ payload: Data, key: SymmetricKey) throws -> Data {
        let full = Age.segmentSize + Age.tagSize
        var out = Data()
        out.reserveCapacity(payload.count)
        var offset = payload.startIndex
        var counter: UInt64 = 0
        while true {
            let remaining = payload.endIndex - offset
            guard remaining >= Age.tagSize else { throw VaultError(.decrypt, "age payload: truncated segment \(counter)") }
            let last = remaining <= full
            let end = offset + min(remaining, full)
            let box = try ChaChaPoly.SealedBox(
                nonce: nonce(counter, last: last), ciphertext: payload[offset..<end - Age.tagSize],
                tag: payload[end - Age.tagSize..<end])
            guard let plain = try? ChaChaPoly.open(box, using: key) else {
                throw VaultError(.decrypt, "age payload: segment \(counter) fails authentication (altered or truncated)")
            }
            if last && plain.isEmpty && counter > 0 {
                throw VaultError(.decrypt, "age payload: empty final segment after data")
            }
            out.append(plain)
            if last { return out }
            offset = end
            counter += 1
        }
    }
}
